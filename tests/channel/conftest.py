"""What the channel's domain tests share: a party store, and the probe attack's traffic and plans."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deconflict.channel.live import TrackState
from deconflict.storage import SQLitePartyStore
from tests.builders import box
from tests.fakes import FootprintPlans


@pytest.fixture
def parties(tmp_path: Path) -> Iterator[SQLitePartyStore]:
    """An empty party store on a SQLite file in ``tmp_path``."""
    with SQLitePartyStore(tmp_path / "channel.db") as store:
        yield store


# Red and civil fly over the Euphrates inside their plans; blue's only plan is far away (lon 30).
RED_PLAN = box(37.5, 34.5, 42.0, 37.0)
BLUE_PLAN = box(30.0, 30.0, 31.0, 31.0)
PLANS = FootprintPlans({"red": [RED_PLAN], "civil": [RED_PLAN], "blue": [BLUE_PLAN]})
SWEEP_ROWS, SWEEP_COLUMNS = 20, 28


def victims(start_s: float) -> list[tuple[str, TrackState]]:
    """Ten red and civil aircraft spread over lon 38-41, lat 35-36.5, 6-11 km high, eastbound at 200 m/s."""
    out = []
    for k in range(10):
        party = "red" if k < 6 else "civil"
        s = TrackState(
            f"V{k}",
            f"SECRET{k}",
            start_s,
            35.0 + 0.15 * k,
            38.0 + 0.3 * k,
            6000.0 + 500.0 * k,
            200.0,
            90.0,
            0.0,
        )
        out.append((party, s))
    return out


def sweep(start_s: float, speed_mps: float) -> list[TrackState]:
    """560 invented blue aircraft abreast over lon 37.5-41.5 at lat 34.8, 20 levels 1-12.4 km, northbound."""
    return [
        TrackState(
            f"S{row}-{col}",
            "",
            start_s,
            34.8,
            37.5 + 4.0 * col / (SWEEP_COLUMNS - 1),
            1000.0 + 600.0 * row,
            speed_mps,
            0.0,
            0.0,
        )
        for row in range(SWEEP_ROWS)
        for col in range(SWEEP_COLUMNS)
    ]
