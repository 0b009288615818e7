"""A rotated token keeps working through the API (requests and events) until its grace period ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from deconflict.channel.parties import rotate_token
from deconflict.storage import open_storage
from tests.api.conftest import Channel


def test_the_old_token_works_until_the_grace_ends_on_the_app_clock(channel: Channel) -> None:
    old = channel.tokens["blue"]
    db = Path(channel.app.state.services.settings.db_path)
    with open_storage(db) as storage:  # what `deconflict party rotate` does, on the server's file
        parties = storage.parties
        new = rotate_token(parties, "blue", channel.clock.now, grace_s=300.0).token
    for token in (old, new):
        response = channel.client.get("/v1/parties/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["name"] == "blue"
    with channel.client.websocket_connect("/v1/events", headers={"Authorization": f"Bearer {old}"}) as ws:
        assert ws.receive_json() == {"type": "ready", "party": "blue"}  # the old token, still in its grace
    channel.clock.advance(300.0)
    refused = channel.client.get("/v1/parties/me", headers={"Authorization": f"Bearer {old}"})
    assert refused.status_code == 401
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        channel.client.websocket_connect("/v1/events", headers={"Authorization": f"Bearer {old}"}) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008
    accepted = channel.client.get("/v1/parties/me", headers={"Authorization": f"Bearer {new}"})
    assert accepted.status_code == 200


def test_a_token_past_its_grace_is_logged_as_rotated_out(channel: Channel) -> None:
    old = channel.tokens["blue"]
    with open_storage(Path(channel.app.state.services.settings.db_path)) as storage:
        parties = storage.parties
        rotate_token(parties, "blue", channel.clock.now, grace_s=0.0)
    refused = channel.client.get("/v1/parties/me", headers={"Authorization": f"Bearer {old}"})
    assert refused.status_code == 401
    audit = channel.app.state.services.audit
    (entry,) = [e for e in audit.entries() if e.kind == "login_failed"]
    assert "rotated out" in entry.payload["reason"] and list(entry.audience) == ["blue"]
