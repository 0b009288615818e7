"""``POST /v1/tracks`` decoded into columns answers exactly as the per-state models do, bad input or good."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.api.routers import tracks as tracks_routes
from deconflict.api.schemas.tracks import decode_track_columns
from deconflict.config import Settings
from deconflict.strategic.conflicts import format_time
from tests.api.conftest import Channel, open_channel
from tests.builders import T0_S

GOOD: dict[str, Any] = {
    "id": "A1",
    "time": format_time(T0_S - 5.0),
    "lat_deg": 48.0,
    "lon_deg": 2.0,
    "alt_m": 3000.0,
    "gs_mps": 120.0,
    "trk_deg": 90.0,
    "vs_mps": 0.0,
}
FIELDS = [*GOOD, "callsign", "on_ground"]
# Values that are bad for some field or other (and good for some): out of range, wrong type, none.
ODD_VALUES = st.sampled_from(
    [
        None, True, 0, -1, 1, 91, 181.0, -2000.5, 100_000.5, 2000.0, 2000.5, 360.0, 360.1, 500.0, -500.5,
        1e400, "", "x" * 65, "y" * 33, "12", "east", "2026-01-01T11:59:00Z", "2026-01-01T11:59:00",
        "noon", "2026-13-01T00:00:00Z", format_time(T0_S + 3600.0), [], {}, 3.5,
    ]
)  # fmt: skip


@st.composite
def states(draw: st.DrawFn, k: int) -> dict[str, Any]:
    state = {**GOOD, "id": f"A{k}", "lat_deg": 48.0 + 0.01 * k}
    for _ in range(draw(st.integers(0, 2))):
        action = draw(st.sampled_from(["set", "drop", "extra"]))
        field = draw(st.sampled_from(FIELDS))
        if action == "set":
            state[field] = draw(ODD_VALUES)
        elif action == "drop":
            state.pop(field, None)
        else:
            state["colour"] = "red"
    return state


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    count = draw(st.integers(0, 4))
    document: Any = {"states": [draw(states(k)) for k in range(count)]}
    shape = draw(st.sampled_from(["plain"] * 6 + ["extra", "not a list", "not json", "bare list"]))
    if shape == "extra":
        document["more"] = 1
    elif shape == "not a list":
        document = {"states": {"id": "A"}}
    elif shape == "bare list":
        document = document["states"]
    text = json.dumps(document)
    return (text[:-3] if shape == "not json" else text).encode()


def _post(channel: Channel, body: bytes, content_type: str) -> tuple[int, Any]:
    headers = channel.auth("blue", content_type=content_type)
    response = channel.client.post("/v1/tracks", content=body, headers=headers)
    return response.status_code, response.json()


def test_every_body_is_answered_as_the_per_state_models_answer_it(tmp_path: Path) -> None:
    def channel_settings(name: str) -> Settings:
        return Settings(db_path=tmp_path / f"{name}.db", tactical_cycle_s=86_400.0, tracks_max_batch=3)

    with (
        open_channel(channel_settings("columns"), "blue") as columns,
        open_channel(channel_settings("models"), "blue") as models,
    ):

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            bodies(), st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"])
        )
        def check(body: bytes, content_type: str) -> None:
            fast = _post(columns, body, content_type)
            decoder = tracks_routes.decode_track_columns
            tracks_routes.decode_track_columns = lambda *_: None  # type: ignore[assignment]
            try:
                slow = _post(models, body, content_type)
            finally:
                tracks_routes.decode_track_columns = decoder
            assert fast == slow
            picture = [
                c.client.get("/v1/tracks", headers=c.auth("blue")).json()["own"] for c in (columns, models)
            ]
            assert picture[0] == picture[1]

        check()


def test_a_good_batch_takes_the_columnar_path_and_a_bad_one_does_not() -> None:
    good = json.dumps({"states": [GOOD, {**GOOD, "id": "A2", "callsign": "AFR1"}]}).encode()
    columns = decode_track_columns(good, "application/json", 10)
    assert columns is not None and columns.ids == ["A1", "A2"] and columns.callsigns == ["", "AFR1"]
    assert columns.time_s.tolist() == [T0_S - 5.0] * 2
    assert decode_track_columns(good, "application/json", 1) is None  # too many
    assert decode_track_columns(good, "text/plain", 10) is None
    bad = json.dumps({"states": [{**GOOD, "lat_deg": 90.5}]}).encode()
    assert decode_track_columns(bad, "application/json", 10) is None
