"""End to end: a party that invents aircraft learns nothing of the others from a real ``deconflict serve``.

Red and civil fly the demo's ten aircraft over the Euphrates inside their filed
plans. Blue, whose only plan is far away, posts 560 invented aircraft abreast
sweeping north, all new at once (issue 21's attack). Whatever blue does, no
red or civil position may reach it (``/v1/tracks``, ``/v1/alerts``,
``/v1/incidents``, its ``/v1/events`` socket), while red and civil are warned of
every sweeper near them, with its position, and get a probe alarm (``sweep``) on
their socket and in their ledger that blue never hears of. The demo's genuine encounters
(strays out of their plans) still show both sides where the other is; a party
at its aircraft cap is refused, naming the setting, while ``GET /v1/health``
stays fast for everyone.

The probation is 3 s here instead of 30 s (``DECONFLICT_TRACKS_PROBATION_S``) so
that the runs stay short: the sweepers pass it and meet the plan policy too.
For the same reason the 250 m/s sweep alarms at 2 aircraft
(``DECONFLICT_PROBE_SWEEP_AIRCRAFT``) instead of 5: in its 10 s it meets 3 red
and 2 civil aircraft (it needs about 2 minutes to reach 5), while the 1000 m/s
sweep meets 10 and 6 at once, over the default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from deconflict.channel.live import TrackState
from deconflict.client import ChannelClient
from deconflict.demo.driver import flight_states
from deconflict.demo.scenario import Scenario, load_scenario
from deconflict.strategic.conflicts import format_time
from tests.builders import moved, unpack_alerts
from tests.channel.conftest import sweep
from tests.servers import call_api, register_party, serve_process

PROBATION_S = 3.0
ENV = {"DECONFLICT_TRACKS_PROBATION_S": str(PROBATION_S)}
PARTIES = ("blue", "red", "civil")


def far_plan(now_s: float) -> dict[str, Any]:
    """Blue's only plan: far west of the Euphrates (the sweep never comes near it), live now."""
    ring = [[30.0, 30.0], [31.0, 30.0], [31.0, 31.0], [30.0, 31.0], [30.0, 30.0]]
    properties = {
        "id": "far/v1",
        "altitude_lower": {"value": 0, "units": "m", "reference": "MSL"},
        "altitude_upper": {"value": 12000, "units": "m", "reference": "MSL"},
        "time_start": format_time(now_s - 600.0),
        "time_end": format_time(now_s + 7200.0),
    }
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }
    return {"type": "FeatureCollection", "features": [feature]}


class Socket:
    """A party's ``/v1/events`` frames, collected by a thread until closed."""

    def __init__(self, url: str, token: str) -> None:
        self.frames: list[dict[str, Any]] = []
        self._url = url.replace("http://", "ws://") + "/v1/events"
        self._token = token
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the socket did not become ready"

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        with connect(self._url, additional_headers=headers, max_size=None) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"
            self._ready.set()
            while not self._stop.is_set():
                try:
                    self.frames.append(json.loads(ws.recv(timeout=0.2)))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return

    def close(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.frames


@contextmanager
def channel(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    db = tmp_path / "channel.db"
    tokens = {name: register_party(db, name, tmp_path)[0] for name in PARTIES}
    with serve_process(db, tmp_path / "serve.log", {**os.environ, **env}) as (_, url):
        yield url, tokens


def api(url: str, token: str, method: str, path: str, body: object | None = None) -> Any:
    status, answer = call_api(url, token, method, path, body)
    assert status in (200, 201, 202), (method, path, status, answer)
    return answer


def file_plans(
    url: str, tokens: dict[str, str], scenario: Scenario, start_s: float, parties: tuple[str, ...]
) -> None:
    for op in scenario.operations:
        if op.party in parties:
            ChannelClient(url, tokens[op.party]).file_operation(op.id, op.collection(start_s), op.priority)


def fly_demo(
    url: str, tokens: dict[str, str], scenario: Scenario, start_s: float, parties: tuple[str, ...]
) -> None:
    """Post the demo flights of ``parties`` at now (scenario time: now - ``start_s``)."""
    elapsed_s = time.time() - start_s
    for party in parties:
        flights = [f for f in scenario.flights if f.party == party]
        api(url, tokens[party], "POST", "/v1/tracks", {"states": flight_states(flights, elapsed_s, start_s)})


def as_posted(s: TrackState) -> dict[str, Any]:
    return {
        "id": s.id,
        "time": format_time(s.time_s),
        "lat_deg": s.lat_deg,
        "lon_deg": s.lon_deg,
        "alt_m": s.alt_m,
        "gs_mps": s.gs_mps,
        "trk_deg": s.trk_deg,
        "vs_mps": s.vs_mps,
    }


def assert_no_foreign_position(views: list[Any], frames: list[dict[str, Any]]) -> None:
    tracks, alerts, incidents = views
    assert tracks["foreign"] == []
    for alert in alerts["alerts"] + [f for f in frames if f["type"] == "alert"]:
        assert alert["other"] is None and alert["distance_cpa_m"] is None and alert["time_to_cpa_s"] is None
        assert alert["time_to_loss_s"] is None and alert["vertical_cpa_m"] is None
        if alert["kind"] == "non_conformance":  # the sweeper's own aircraft off its plans: nothing foreign
            assert alert["own_id"] is not None and alert["other_party"] is None, alert
            continue
        assert alert["withheld"] in ("probation", "outside_plans"), alert
    for incident in incidents["incidents"] + [f for f in frames if f["type"] == "incident"]:
        assert incident["closest"] is None, incident


@pytest.mark.parametrize("speed_mps", [1000.0, 250.0])
def test_a_sweep_of_invented_aircraft_discloses_no_foreign_position(tmp_path: Path, speed_mps: float) -> None:
    scenario = load_scenario()
    start_s = time.time() - 60.0
    env = ENV if speed_mps > 700.0 else {**ENV, "DECONFLICT_PROBE_SWEEP_AIRCRAFT": "2"}
    with channel(tmp_path, env) as (url, tokens):
        file_plans(url, tokens, scenario, start_s, ("red", "civil"))
        ChannelClient(url, tokens["blue"]).file_operation("far", far_plan(time.time()))
        for _ in range(int(PROBATION_S) + 2):  # red and civil past their probation
            fly_demo(url, tokens, scenario, start_s, ("red", "civil"))
            time.sleep(1.0)
        sockets = {party: Socket(url, tokens[party]) for party in PARTIES}
        swept_s = time.time()
        invented = sweep(swept_s, speed_mps)
        answers = []
        for _ in range(int(3 * PROBATION_S)):  # past the sweepers' probation too
            fly_demo(url, tokens, scenario, start_s, ("red", "civil"))
            now_s = time.time()
            states = [as_posted(moved(s, now_s - swept_s)) for s in invented]
            answers.append(api(url, tokens["blue"], "POST", "/v1/tracks", {"states": states}))
            time.sleep(1.0)
        time.sleep(2.0)  # two more cycles
        views = {
            party: [
                api(url, tokens[party], "GET", path) for path in ("/v1/tracks", "/v1/alerts", "/v1/incidents")
            ]
            for party in PARTIES
        }
        ledgers = {party: api(url, tokens[party], "GET", "/v1/disclosures") for party in PARTIES}
        frames = {party: unpack_alerts(ws.close()) for party, ws in sockets.items()}

    assert_no_foreign_position(views["blue"], frames["blue"])
    # The victims are told they are swept, once each, on their socket and in their ledger; blue is not.
    for party in ("red", "civil"):
        [pushed] = [f["alarm"] for f in frames[party] if f["type"] == "probe_alarm"]
        [stored] = [e for e in ledgers[party] if e["kind"] == "probe_alarm"]
        assert pushed == stored and (stored["recipient"], stored["note"]) == ("blue", "sweep"), stored
        assert stored["reason"].startswith("sweep:")
        own = {f.id for f in scenario.flights if f.party == party}
        assert set(stored["subject_ref"].split(",")) <= own  # its own aircraft, never blue's ids
    assert [f for f in frames["blue"] if f["type"] == "probe_alarm"] == []
    assert [e for e in ledgers["blue"] if e["kind"] == "probe_alarm"] == []
    if speed_mps > 700.0:
        assert all(a == {"accepted": 0, "refused": {"ground_speed": 560}} for a in answers), answers
        assert [
            a for p in ("red", "civil") for a in views[p][1]["alerts"] if a["other_party"] == "blue"
        ] == []
    else:
        assert all(a["accepted"] == 560 for a in answers), answers
        # The fact reaches both sides: blue hears of its alerts, figures withheld ...
        # (its separation alerts; its sweepers off its plans are also its own non-conformance alerts)
        separation = [a for a in views["blue"][1]["alerts"] if a["kind"] == "separation"]
        assert {a["withheld"] for a in separation} == {"outside_plans"}
        # ... and the victims are warned with the sweepers' positions.
        warned = [a for p in ("red", "civil") for a in views[p][1]["alerts"] if a["other_party"] == "blue"]
        assert warned and all(a["other"] is not None and a["withheld"] is None for a in warned)
        assert "blue" in {f["party"] for f in views["red"][0]["foreign"]}
        assert any(f["type"] == "alert" and f["other"] is not None for f in frames["red"])


def test_the_demos_genuine_encounters_show_both_sides_where_the_other_is(tmp_path: Path) -> None:
    # Scenario time 30 s: VIPER3 and FLANKER3 (strays, out of their plans) meet head-on at 40 s,
    # FOXBAT2 (out of its plan's band) crosses CVL104's airway at 75 s.
    scenario = load_scenario()
    start_s = time.time() - 30.0
    with channel(tmp_path, ENV) as (url, tokens):
        file_plans(url, tokens, scenario, start_s, PARTIES)
        sockets = {party: Socket(url, tokens[party]) for party in PARTIES}
        for _ in range(int(PROBATION_S) + 4):
            fly_demo(url, tokens, scenario, start_s, PARTIES)
            time.sleep(1.0)
        alerts = {party: api(url, tokens[party], "GET", "/v1/alerts")["alerts"] for party in PARTIES}
        tracks = {party: api(url, tokens[party], "GET", "/v1/tracks") for party in PARTIES}
        frames = {party: unpack_alerts(ws.close()) for party, ws in sockets.items()}

    # Genuine encounters, their aircraft new and some out of their plans, are no sweep.
    assert [f for party in PARTIES for f in frames[party] if f["type"] == "probe_alarm"] == []

    def pair(party: str, own_id: str, other: str) -> dict[str, Any]:
        [found] = [a for a in alerts[party] if a["own_id"] == own_id and a["other_party"] == other]
        return found

    for party, own_id, other in (
        ("blue", "BLU103", "red"),
        ("red", "R13", "blue"),
        ("red", "R32", "civil"),
        ("civil", "UL104", "red"),
    ):
        alert = pair(party, own_id, other)
        assert alert["withheld"] is None and alert["other"] is not None, alert
        assert alert["distance_cpa_m"] is not None
        assert alert["id"] in {f["ref"] for f in tracks[party]["foreign"]}
        # The socket carried it too: first withheld (probation), then again with the figures.
        sent = [f for f in frames[party] if f["type"] == "alert" and f["id"] == alert["id"]]
        assert sent[0]["withheld"] == "probation" and sent[-1]["other"] is not None


# Measures GET /v1/health from its own process (no GIL shared with the attacking client) until killed.
PROBE = """
import sys, time, urllib.request
url = sys.argv[1]
while True:
    started = time.perf_counter()
    urllib.request.urlopen(url + "/v1/health", timeout=10).read()
    print(time.perf_counter() - started, flush=True)
    time.sleep(0.02)
"""


def cap_attack_bodies(cap: int, batches: int, start_s: float) -> list[bytes]:
    """One batch a second: even ones the party's ``cap`` aircraft again, odd ones 10,000 more (over it)."""
    rng = np.random.default_rng(21)
    lat_deg, lon_deg = rng.uniform(30.0, 40.0, 80_000), rng.uniform(30.0, 46.0, 80_000)
    bodies = []
    for batch in range(batches):
        ids = range(batch * 5_000, (batch + 2) * 5_000) if batch % 2 else range(cap)
        when = format_time(start_s + batch)
        states = [
            {
                **{"id": f"X{k}", "time": when, "lat_deg": lat_deg[k], "lon_deg": lon_deg[k]},
                **{"alt_m": 9000.0, "gs_mps": 0.0, "trk_deg": 0.0, "vs_mps": 0.0},
            }
            for k in ids
        ]
        bodies.append(json.dumps({"states": states}).encode())
    return bodies


def test_a_party_at_its_aircraft_cap_is_refused_while_health_stays_fast(tmp_path: Path) -> None:
    cap, batches = 5000, 14
    with channel(tmp_path, {"DECONFLICT_TRACKS_MAX_AIRCRAFT_PER_PARTY": str(cap)}) as (url, tokens):
        start_s = time.time() + 3.0
        bodies = cap_attack_bodies(cap, batches, start_s)
        probe = subprocess.Popen([sys.executable, "-c", PROBE, url], stdout=subprocess.PIPE, text=True)
        answers = []
        try:
            for k, body in enumerate(bodies):
                time.sleep(max(0.0, start_s + k - time.time()))  # a feed's pace: one batch a second
                request = urllib.request.Request(url + "/v1/tracks", data=body, method="POST")
                request.add_header("Authorization", f"Bearer {tokens['blue']}")
                request.add_header("Content-Type", "application/json")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        answers.append((response.status, json.loads(response.read())))
                except urllib.error.HTTPError as exc:
                    answers.append((exc.code, exc.read().decode()))
        finally:
            probe.terminate()
            out, _ = probe.communicate(timeout=15)
        own = api(url, tokens["blue"], "GET", "/v1/tracks")["own"]

    assert len(own) == cap
    for batch, (status, answer) in enumerate(answers):
        if batch % 2:
            assert status == 422 and "(tracks_max_aircraft_per_party)" in answer, (status, answer)
        else:
            assert status == 202 and answer["accepted"] == cap, (status, answer)
    latencies_s = [float(line) for line in out.split()]
    p99_s = float(np.percentile(latencies_s, 99))
    print(f"GET /v1/health under the cap attack: {len(latencies_s)} requests, p99 {1000 * p99_s:.1f} ms")
    assert len(latencies_s) > 20 and p99_s < 1.0  # 5 s for everyone before the cap
