"""The probe attack on a real ``deconflict serve``: oversized filings, file-and-withdraw bursts, alarms.

Blue tries to map the other parties' plans: first with one operation over
lon 30-46 / lat 30-40, 0-30 km, two years long (refused: larger than any real
operation), then with file-and-withdraw cycles of an operation of allowed size
over red's plan (rate-limited, and each withdrawal right after the conflicts it
revealed raises a probe alarm to red, on its socket and in its ledger). The
server runs with its default limits: the defaults themselves must hold.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from deconflict.config import Settings
from tests.builders import box_feature, plan, register_parties
from tests.cli.conftest import run_main
from tests.servers import call_api, serve_process

RED_BOX = (36.0, 35.0, 36.5, 35.5)
CIVIL_BOX = (38.0, 36.0, 39.0, 36.2)
PROBE_BOX = (35.9, 34.9, 36.6, 35.6)  # about 5,000 km^2: within the area limit, over red's plan
CYCLES = 40
FRAME_WAIT_S = 10.0


@dataclass
class Server:
    url: str
    tokens: dict[str, str]

    def call(self, party: str, method: str, path: str, body: object | None = None) -> tuple[int, Any]:
        return call_api(self.url, self.tokens[party], method, path, body)

    @contextmanager
    def events(self, party: str) -> Iterator[ClientConnection]:
        """A subscribed ``/v1/events`` connection of ``party`` (its ``ready`` frame read)."""
        uri = self.url.replace("http://", "ws://") + "/v1/events"
        headers = {"Authorization": f"Bearer {self.tokens[party]}"}
        with connect(uri, additional_headers=headers, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=FRAME_WAIT_S)) == {"type": "ready", "party": party}
            yield ws


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = tmp_path / "channel.db"
    tokens, _ = register_parties(db, "blue", "red", "civil")
    with serve_process(db, tmp_path / "serve.log") as (_, url):
        yield Server(url, tokens)


def withdraw(server: Server, party: str, operation_id: str) -> tuple[int, dict[str, str]]:
    """A withdrawal: the status, and for a refusal its detail and ``Retry-After``."""
    request = urllib.request.Request(f"{server.url}/v1/operations/{operation_id}/withdraw", method="POST")
    request.add_header("Authorization", f"Bearer {server.tokens[party]}")
    request.add_header("If-Match", '"1"')
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {}
    except urllib.error.HTTPError as exc:
        retry_after = exc.headers.get("Retry-After", "")
        return exc.code, {"retry_after": retry_after, "detail": json.loads(exc.read())["detail"]}


def test_the_oversized_probe_is_refused_naming_each_limit(server: Server) -> None:
    probe = plan("probe", box_feature("probe/v1", 30.0, 30.0, 46.0, 40.0))
    probe["features"][0]["properties"] |= {
        "time_end": "2028-01-01T12:00:00Z",
        "altitude_lower": {"value": 0, "units": "m", "reference": "MSL"},
        "altitude_upper": {"value": 30000, "units": "m", "reference": "MSL"},
    }
    assert (
        server.call("red", "POST", "/v1/operations", plan("red-op", box_feature("r/v1", *RED_BOX)))[0] == 201
    )
    status, detail = server.call("blue", "POST", "/v1/operations", probe)
    assert status == 422
    for setting in ("max_operation_area_km2", "max_operation_window_h", "max_operation_band_m"):
        assert setting in detail
    assert server.call("blue", "GET", "/v1/operations") == (200, [])
    # Red was told nothing, and nothing was disclosed about it.
    assert server.call("red", "GET", "/v1/disclosures") == (200, [])


def test_a_file_and_withdraw_burst_is_limited_and_alarms_the_victim(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        server.call("red", "POST", "/v1/operations", plan("red-op", box_feature("r/v1", *RED_BOX)))[0] == 201
    )
    assert (
        server.call("civil", "POST", "/v1/operations", plan("airway", box_feature("c/v1", *CIVIL_BOX)))[0]
        == 201
    )
    limit = Settings().withdrawals_per_minute
    statuses: list[int] = []
    refusal: dict[str, str] = {}
    with server.events("red") as red_events:
        for k in range(CYCLES):
            status, filed = server.call(
                "blue", "POST", "/v1/operations", plan(f"p{k}", box_feature("v", *PROBE_BOX))
            )
            assert status == 201, filed
            assert len(filed["conflicts"]) == 1  # red's plan, never civil's
            status, answer = withdraw(server, "blue", f"p{k}")
            statuses.append(status)
            if status == 429 and not refusal:
                refusal = answer
        # Red hears of each withdrawal right after a reveal (and of the burst) on its socket.
        kinds: dict[str, int] = {}
        deadline = time.monotonic() + FRAME_WAIT_S
        while kinds.get("withdrawn", 0) < limit or "burst" not in kinds:
            assert time.monotonic() < deadline, f"alarms seen: {kinds}"
            frame = json.loads(red_events.recv(timeout=FRAME_WAIT_S))
            if frame["type"] == "probe_alarm":
                assert (frame["alarm"]["recipient"], frame["alarm"]["subject_ref"]) == ("blue", "red-op")
                kinds[frame["alarm"]["note"]] = kinds.get(frame["alarm"]["note"], 0) + 1
    # The burst was rate-limited: the withdrawals beyond the limit were refused, naming the setting.
    assert statuses[:limit] == [200] * limit and 429 in statuses[limit:]
    assert "withdrawals_per_minute" in refusal["detail"] and int(refusal["retry_after"]) >= 1

    # Red reads the same in its ledger, with the command line.
    monkeypatch.setenv("DECONFLICT_TOKEN", server.tokens["red"])
    code, listed, err = run_main("disclosures", "list", "--url", server.url, "--json")
    assert code == 0, err
    entries = json.loads(listed)
    conflicts = [e for e in entries if e["kind"] == "conflict"]
    alarms = [e for e in entries if e["kind"] == "probe_alarm"]
    assert len(conflicts) == CYCLES and {e["recipient"] for e in conflicts} == {"blue"}
    assert {e["subject_ref"] for e in conflicts} == {"red-op/r/v1"}
    assert sorted(e["note"] for e in alarms) == ["burst"] + ["withdrawn"] * limit
    assert [e["number"] for e in entries] == list(range(1, len(entries) + 1))
    # Civil's plan was never touched: nothing was disclosed about it, no alarm.
    assert server.call("civil", "GET", "/v1/disclosures") == (200, [])
