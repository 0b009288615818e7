"""A real channel app on a SQLite file in tmp_path, with parties blue, red, green and revoked gone.

The app runs on a fake clock that starts at ``T0_S`` and moves only when a test says.
A test module that overrides ``channel_backend`` with :func:`both_backends` runs its
tests on PostgreSQL too (the contract suite's database, emptied for each test).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from deconflict.api import create_app
from deconflict.channel.messages import MessageContent
from deconflict.client import Response
from deconflict.config import Settings
from tests.builders import (
    T0_S,
    altitude,
    box_feature,
    feature,
    plan,
    point,
    polygon_geometry,
    register_parties,
    ring,
    signed_message_body,
)
from tests.fakes import FakeClock
from tests.storage.backends import empty_postgres

REPLY_BY = "2026-01-01T12:30:00Z"
"""The reply deadline of :func:`signed_body`'s message by default: 30 minutes after ``T0_S``."""
REPLY_BY_S = T0_S + 1800.0
_nonces = itertools.count()

# What blue tells red in a message by default (about BLUE_OPERATION): green must never see it.
SECRET_TEXT = "Exercise NIGHTJAR: keep clear of R-45"


@dataclass
class Channel:
    """A running app and the tokens of its parties."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]
    keys: dict[str, bytes]
    clock: FakeClock

    def auth(self, party: str, **headers: str) -> dict[str, str]:
        """Headers of a request by ``party`` (extra headers by keyword, ``_`` for ``-``)."""
        extra = {k.replace("_", "-"): v for k, v in headers.items()}
        return {"Authorization": f"Bearer {self.tokens[party]}", **extra}


class AppTransport:
    """A :class:`~deconflict.client.Transport` into a TestClient."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        answer = self.client.request(method, url, headers=dict(headers), content=body)
        return Response(answer.status_code, answer.content)


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    """Settings of the ``channel`` app besides its database; a test module overrides this fixture."""
    return {}


@pytest.fixture
def channel_backend() -> str:
    """The storage the ``channel`` app runs on: SQLite; a module overrides it (:func:`both_backends`)."""
    return "sqlite"


def both_backends(request: pytest.FixtureRequest) -> str:
    """``channel_backend`` for a module whose tests run on SQLite and on PostgreSQL:
    ``channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)``."""
    return str(request.param)


@contextmanager
def open_channel(
    settings: Settings, *parties: str, revoked: Sequence[str] = (), clock: FakeClock | None = None
) -> Iterator[Channel]:
    """The app of ``settings`` with ``parties`` registered at ``T0_S`` (see :func:`register_parties`).

    On ``clock`` (a new one at ``T0_S`` by default); shut down on leaving.
    """
    tokens, keys = register_parties(settings, *parties, revoked=revoked)
    clock = clock if clock is not None else FakeClock(T0_S)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Channel(app, client, tokens, keys, clock)


@pytest.fixture
def channel(
    tmp_path: Path, channel_settings: dict[str, Any], channel_backend: str, request: pytest.FixtureRequest
) -> Iterator[Channel]:
    if channel_backend == "postgres":
        url: str = request.getfixturevalue("contract_postgres_url")
        empty_postgres(url)
        database: dict[str, Any] = {"db_url": url, "audit_key_path": tmp_path / "audit-key.pem"}
    else:
        database = {"db_path": tmp_path / "channel.db"}
    settings = Settings(**database, **channel_settings)
    with open_channel(settings, "blue", "red", "green", "gone", revoked=("gone",)) as channel:
        yield channel


# Blue's plan: distinctive ids, texts and coordinates that red must never see.
BLUE_OPERATION = "blue-op-NIGHTJAR-7731"
BLUE_VOLUMES = ("blue-vol-ALPHA-5521", "blue-vol-BRAVO-6632")
BLUE_TEXTS = ("SECRET-REMARK-callsign-SPECTRE", "Exercise-Crimson-Dawn")
BLUE_TRIANGLE = ((36.1123457, 35.0456789), (36.6789123, 35.1234567), (36.3456789, 35.7891234))
BLUE_CIRCLE = (37.9876543, 34.8765432, 4321.9)
BLUE_UPPER_M = 5432.1

# Red's box is cut by the triangle's edge B-C: a partial overlap, no blue vertex inside.
RED_BOX = (36.45, 35.25, 36.65, 35.45)


def blue_plan() -> dict[str, Any]:
    triangle = feature(
        BLUE_VOLUMES[0],
        geometry=polygon_geometry(ring(*BLUE_TRIANGLE)),
        altitude_lower=altitude(1234.5),
        altitude_upper=altitude(BLUE_UPPER_M),
        time_start="2026-01-01T12:00:00Z",
        time_end="2026-01-01T13:30:00Z",
        remarks=BLUE_TEXTS[0],
        name=BLUE_TEXTS[1],
    )
    circle = feature(
        BLUE_VOLUMES[1],
        geometry=point(BLUE_CIRCLE[0], BLUE_CIRCLE[1]),
        radius_m=BLUE_CIRCLE[2],
        remarks=BLUE_TEXTS[0],
    )
    return {**plan(BLUE_OPERATION, triangle, circle, priority=7), "name": BLUE_TEXTS[1]}


def red_plan(operation_id: str = "red-op") -> dict[str, Any]:
    return plan(
        operation_id,
        box_feature(
            "red-v1",
            *RED_BOX,
            altitude_lower=altitude(1000),
            altitude_upper=altitude(2000),
            time_start="2026-01-01T12:30:00Z",
            time_end="2026-01-01T14:00:00Z",
        ),
        priority=2,
    )


def forbidden_strings() -> list[str]:
    coordinates = [c for vertex in BLUE_TRIANGLE for c in vertex] + list(BLUE_CIRCLE) + [BLUE_UPPER_M]
    return [BLUE_OPERATION, *BLUE_VOLUMES, *BLUE_TEXTS, "NIGHTJAR", "ALPHA", "BRAVO"] + [
        json.dumps(c) for c in coordinates
    ]


def assert_allowed_view(conflict: dict[str, Any]) -> None:
    """The facts red may learn are all there."""
    assert (conflict["other_party"], conflict["state"]) == ("blue", "open")
    assert not [key for key in conflict if "priority" in key]  # where, when, how high: never the rank
    assert (conflict["operation"], conflict["volume"]) == ("red-op", "red-v1")
    assert (conflict["time_start"], conflict["time_end"]) == ("2026-01-01T12:30:00Z", "2026-01-01T13:30:00Z")
    assert (conflict["altitude_lower_m"], conflict["altitude_upper_m"]) == (1234.5, 2000.0)
    assert conflict["altitude_reference"] == "MSL"
    lon0, lat0, lon1, lat1 = conflict["overlap_bbox"]
    # The overlap lies inside red's own box, and is cut by blue's edge inside it.
    assert (lon0, lat0, lat1) == (RED_BOX[0], RED_BOX[1], RED_BOX[3])
    assert RED_BOX[0] < lon1 < RED_BOX[2]
    assert conflict["overlap_area_m2"] > 0.0


MARKER = "end-of-scenario marker"


@contextmanager
def events(channel: Channel, party: str) -> Iterator[WebSocketTestSession]:
    """A subscribed ``/v1/events`` connection of ``party`` (its ``ready`` frame already read)."""
    with channel.client.websocket_connect("/v1/events", headers=channel.auth(party)) as ws:
        assert ws.receive_json() == {"type": "ready", "party": party}
        yield ws


def until_marker(ws: WebSocketTestSession) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while True:
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == "message" and frame["message"]["text"] == MARKER:
            return frames
        frames.append(frame)


def signed_body(
    channel: Channel,
    sender: str,
    to: str = "red",
    code: str = "REQUEST_TO_AMEND",
    params: dict[str, Any] | None = None,
    text: str = SECRET_TEXT,
    reply_by: str | None = REPLY_BY,
    key: bytes | None = None,
) -> dict[str, Any]:
    """A POST /v1/messages body signed by ``sender``'s key (or ``key``), with a nonce never used before."""
    if params is None:
        params = {"operation": BLUE_OPERATION, "change": "raise the lower limit to FL100"}
    content = MessageContent(sender, to, code, params, text, reply_by, f"test-nonce-{next(_nonces):08d}")
    return signed_message_body(content, key if key is not None else channel.keys[sender])


def send(channel: Channel, sender: str = "blue", **kwargs: Any) -> dict[str, Any]:
    """POST :func:`signed_body` (``kwargs`` are its own); asserts 201 and the Location; the message."""
    response = channel.client.post(
        "/v1/messages", json=signed_body(channel, sender, **kwargs), headers=channel.auth(sender)
    )
    assert response.status_code == 201, response.text
    sent: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/v1/messages/{sent['id']}"
    return sent


def send_text(
    channel: Channel, sender: str, to: str, text: str, reply_by: str | None = None
) -> dict[str, Any]:
    """:func:`send` a ``FREE`` message of ``text`` alone."""
    return send(channel, sender, to=to, code="FREE", params={}, text=text, reply_by=reply_by)


def ack(channel: Channel, party: str, message_id: int, level: str, reason: str | None = None) -> Any:
    """POST an acknowledgement of ``level`` by ``party``: the response, whatever its status."""
    return channel.client.post(
        f"/v1/messages/{message_id}/ack", json={"level": level, "reason": reason}, headers=channel.auth(party)
    )


def burst_settings(db_path: Path) -> Settings:
    """The settings of :func:`burst_channel`: the live picture's gates off, the cycles run by the test."""
    return Settings(
        db_path=db_path,
        tactical_cycle_s=86_400.0,  # the test runs the cycles
        tracks_probation_s=0.0,
        tracks_disclose_anywhere=("blue", "red"),
        events_max_queued=1000,  # the queue a cycle of 5,000 alerts used to overflow
    )


@pytest.fixture
def burst_channel(tmp_path: Path) -> Iterator[Channel]:
    """A channel of blue and red with the live picture's gates off; the test runs the cycles."""
    with open_channel(burst_settings(tmp_path / "channel.db"), "blue", "red") as channel:
        yield channel
