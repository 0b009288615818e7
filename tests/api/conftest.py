"""A real channel app on a SQLite file in tmp_path, with parties blue, red, green and revoked gone.

The app runs on a fake clock that starts at ``T0_S`` and moves only when a test says.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.channel.parties import register_party, revoke_party
from deconflict.client import Response
from deconflict.config import Settings
from deconflict.storage import open_storage
from tests.builders import T0_S, box_ring, collection, feature, polygon_geometry
from tests.fakes import FakeClock


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
def channel(tmp_path: Path, channel_settings: dict[str, Any]) -> Iterator[Channel]:
    settings = Settings(db_path=tmp_path / "channel.db", **channel_settings)
    with open_storage(settings) as storage:
        registrations = {
            name: register_party(storage.parties, name, None, T0_S)
            for name in ("blue", "red", "green", "gone")
        }
        revoke_party(storage.parties, "gone", T0_S + 1)
    tokens = {name: r.token for name, r in registrations.items()}
    keys = {name: r.private_key_pem for name, r in registrations.items() if r.private_key_pem is not None}
    clock = FakeClock(T0_S)
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Channel(app, client, tokens, keys, clock)


def plan(operation_id: str, *features: dict[str, Any], priority: int = 0) -> dict[str, Any]:
    """A POST /v1/operations body."""
    return {**collection(*features), "id": operation_id, "priority": priority}


def box_feature(
    volume_id: str, lon0: float, lat0: float, lon1: float, lat1: float, **props: Any
) -> dict[str, Any]:
    """A volume Feature over a lon/lat box (0..1000 m MSL, 12:00-13:00 by default)."""
    return feature(volume_id, geometry=polygon_geometry(box_ring(lon0, lat0, lon1, lat1)), **props)
