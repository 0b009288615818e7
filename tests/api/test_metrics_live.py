"""Metrics of the live picture: cycle time, picture age, states accepted and refused, alert coalescing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deconflict.config import Settings
from tests.api.conftest import Channel, events, open_channel
from tests.api.test_events_bursts import cycle, head_on_pairs, received
from tests.api.test_ops import OPERATOR, OPERATOR_TOKEN, _samples

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@contextmanager
def live_channel(tmp_path: Path, cycle_s: float) -> Iterator[Channel]:
    settings = Settings(
        db_path=tmp_path / "channel.db",
        metrics_token=OPERATOR_TOKEN,
        tactical_cycle_s=cycle_s,
        tracks_probation_s=0.0,
        tracks_disclose_anywhere=("blue", "red"),
    )
    with open_channel(settings, "blue", "red") as channel:
        yield channel


def scrape(ch: Channel) -> Samples:
    response = ch.client.get("/metrics", headers=OPERATOR)
    assert response.status_code == 200, response.text
    return _samples(response.text)


def post(ch: Channel, party: str, states: list[dict[str, Any]]) -> None:
    response = ch.client.post("/v1/tracks", json={"states": states}, headers=ch.auth(party))
    assert response.status_code == 202, response.text


def test_states_age_and_coalesced_alerts_move(tmp_path: Path) -> None:
    with live_channel(tmp_path, cycle_s=86_400.0) as ch:  # the test runs the cycles
        before = scrape(ch)
        assert before["deconflict_track_states_accepted_total", ()] == 0
        assert ("deconflict_tactical_picture_age_seconds", ()) not in before  # no cycle yet
        pairs = head_on_pairs(40)
        post(ch, "blue", pairs["blue"])
        post(ch, "red", pairs["red"])
        post(ch, "red", pairs["red"][:3])  # the same states again: no newer than the latest
        after = scrape(ch)
        assert after["deconflict_track_states_accepted_total", ()] == 80
        assert after["deconflict_track_states_refused_total", (("reason", "older"),)] == 3

        with events(ch, "blue") as blue:
            changes = cycle(ch)
            assert len(changes.new_alerts) == 40
            frames = received(blue, ch)
        assert sum(len(f["changes"]) for f in frames if f["type"] == "alerts") == 40
        ch.clock.advance(7.0)
        samples = scrape(ch)
        assert samples["deconflict_tactical_picture_age_seconds", ()] == 7.0
        assert samples["deconflict_event_alerts_coalesced_count", ()] == 1
        assert samples["deconflict_event_alerts_coalesced_sum", ()] == 40
        assert samples["deconflict_event_alerts_coalesced_bucket", (("le", "10.0"),)] == 0
        assert samples["deconflict_event_alerts_coalesced_bucket", (("le", "50.0"),)] == 1
        cycle(ch)
        assert scrape(ch)["deconflict_tactical_picture_age_seconds", ()] == 0.0


def test_each_background_cycle_is_timed(tmp_path: Path) -> None:
    with live_channel(tmp_path, cycle_s=0.02) as ch:
        pairs = head_on_pairs(10)
        post(ch, "blue", pairs["blue"])
        post(ch, "red", pairs["red"])
        deadline = time.monotonic() + 20.0
        counts = []
        while time.monotonic() < deadline:
            samples = scrape(ch)
            counts.append(samples.get(("deconflict_tactical_cycle_seconds_count", ()), 0.0))
            if counts[-1] >= 3 and samples["deconflict_active_alerts", ()] == 10:
                break
            time.sleep(0.05)
        assert counts[-1] >= 3 and counts[-1] > counts[0], counts
        assert samples["deconflict_tactical_cycle_seconds_sum", ()] > 0.0
        assert samples["deconflict_tactical_picture_age_seconds", ()] == 0.0  # the fake clock stands still
