"""The Python client, routed through the in-process app by an injected transport."""

from __future__ import annotations

import socket
import threading

import pytest

from deconflict.client import ChannelClient, ChannelError, UrllibTransport
from tests.api.conftest import AppTransport, Channel
from tests.builders import T0_S

CRLF = bytes([13, 10])


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


def test_an_answer_cut_off_mid_body_is_a_channel_error() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer_half() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK" + CRLF + b"Content-Length: 100" + CRLF + CRLF
            conn.sendall(head + b"{")  # 1 of the 100 promised bytes, then the connection closes

    thread = threading.Thread(target=answer_half)
    thread.start()
    try:
        with pytest.raises(ChannelError, match="cut off"):
            UrllibTransport(timeout_s=5.0).request("GET", f"http://127.0.0.1:{port}/v1/health", {}, None)
    finally:
        thread.join(timeout=10)
        server.close()
