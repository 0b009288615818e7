"""The Python client, routed through the in-process app by an injected transport."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from fastapi.testclient import TestClient

from deconflict.client import ChannelClient, ChannelError, Response, UrllibTransport
from tests.api.conftest import Channel
from tests.builders import T0_S


class AppTransport:
    """A :class:`~deconflict.client.Transport` into a TestClient."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        answer = self.client.request(method, url, headers=dict(headers), content=body)
        return Response(answer.status_code, answer.content)


def client_of(channel: Channel, party: str, with_key: bool = True) -> ChannelClient:
    return ChannelClient(
        "http://testserver/",
        channel.tokens[party],
        private_key_pem=channel.keys[party] if with_key else None,
        transport=AppTransport(channel.client),
    )


def test_a_conversation_through_the_client(channel: Channel) -> None:
    blue, red = client_of(channel, "blue"), client_of(channel, "red")
    assert "FREE" in {m["code"] for m in blue.catalogue()["messages"]}
    sent = blue.send(
        "red", "REQUEST_CLARIFICATION", {"subject": "activity at KILO"}, "Срочно", "2026-01-01T12:30:00Z"
    )
    assert (sent["from"], sent["state"]) == ("blue", "sent")
    (received,) = red.messages(lang="ru")
    assert received["rendered"] == "Просим дать разъяснения по вопросу: activity at KILO.\nСрочно"
    assert red.ack(received["id"], "read")["state"] == "read"
    assert red.ack(received["id"], "disputed", "nothing planned there")["state"] == "disputed"
    assert blue.message(sent["id"])["reason"] == "nothing planned there"
    assert blue.messages("outbox", state="disputed")[0]["id"] == sent["id"]
    assert blue.messages("outbox", overdue=True) == []
    channel.clock.now = T0_S + 1800
    assert [e["step"] for e in blue.escalations()] == []  # answered in time


def test_refusals_become_channel_errors_with_the_fields(channel: Channel) -> None:
    blue = client_of(channel, "blue")
    with pytest.raises(ChannelError) as caught:
        blue.send("red", "TRAFFIC_ADVISORY", {"callsign": "X"})
    assert caught.value.status == 422
    assert "params: 'position' is a required property" in str(caught.value)
    with pytest.raises(ChannelError, match="HTTP 404"):
        blue.ack(1, "read")
    with pytest.raises(ChannelError, match="private key"):
        client_of(channel, "blue", with_key=False).send("red", "FREE", text="x")
    stranger = ChannelClient("http://testserver", "nope", transport=AppTransport(channel.client))
    with pytest.raises(ChannelError, match="HTTP 401") as unauthorised:
        stranger.me()
    assert unauthorised.value.status == 401


def test_an_unreachable_server_is_a_channel_error() -> None:
    client = ChannelClient("http://127.0.0.1:9", "t", transport=UrllibTransport(timeout_s=2.0))
    with pytest.raises(ChannelError, match="cannot reach the service"):
        client.me()
