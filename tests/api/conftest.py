"""A real channel app on a SQLite file in tmp_path, with parties blue, red, green and revoked gone.

The app runs on a fake clock that starts at ``T0_S`` and moves only when a test says.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.channel.messages import MessageContent
from deconflict.client import Response
from deconflict.config import Settings
from tests.builders import (
    T0_S,
    box_ring,
    collection,
    feature,
    polygon_geometry,
    register_parties,
    signed_message_body,
)
from tests.fakes import FakeClock

REPLY_BY = "2026-01-01T12:30:00Z"
"""The reply deadline of :func:`signed_body`'s message by default: 30 minutes after ``T0_S``."""
REPLY_BY_S = T0_S + 1800.0
_nonces = itertools.count()

# What blue tells red in a message by default: green, a third party, must never see any of it.
SECRET_TEXT = "Exercise NIGHTJAR: keep clear of R-45"
SECRET_OPERATION = "blue-op-NIGHTJAR-7731"


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


@contextmanager
def open_channel(
    settings: Settings, *parties: str, revoked: Sequence[str] = (), clock: FakeClock | None = None
) -> Iterator[Channel]:
    """The app of ``settings`` with ``parties`` registered at ``T0_S`` (see :func:`register_parties`).

    On ``clock`` (a new one at ``T0_S`` by default); shut down on leaving.
    """
    tokens, keys = register_parties(settings.db_path, *parties, revoked=revoked)
    clock = clock if clock is not None else FakeClock(T0_S)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Channel(app, client, tokens, keys, clock)


@pytest.fixture
def channel(tmp_path: Path, channel_settings: dict[str, Any]) -> Iterator[Channel]:
    settings = Settings(db_path=tmp_path / "channel.db", **channel_settings)
    with open_channel(settings, "blue", "red", "green", "gone", revoked=("gone",)) as channel:
        yield channel


def plan(operation_id: str, *features: dict[str, Any], priority: int = 0) -> dict[str, Any]:
    """A POST /v1/operations body."""
    return {**collection(*features), "id": operation_id, "priority": priority}


def box_feature(
    volume_id: str, lon0: float, lat0: float, lon1: float, lat1: float, **props: Any
) -> dict[str, Any]:
    """A volume Feature over a lon/lat box (0..1000 m MSL, 12:00-13:00 by default)."""
    return feature(volume_id, geometry=polygon_geometry(box_ring(lon0, lat0, lon1, lat1)), **props)


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
        params = {"operation": SECRET_OPERATION, "change": "raise the lower limit to FL100"}
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
