"""The blind relay end to end through a real app, on both backends: two parties run a session and each
learns exactly its own matched volumes; the server keeps only opaque blobs, deletes them when the session
ends, shows no planted canary in its database, log, metrics or error bodies; sessions per pair are
bounded; a third party cannot read or post; a blob altered in storage aborts the session."""

from __future__ import annotations

import base64
import json
import logging
import struct
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from deconflict.blind.cover import cover_volumes
from deconflict.blind.grid import GridParameters
from deconflict.blind.protocol import BlindParty, BlindResult
from deconflict.blind.psi import hash_cells
from deconflict.client import ChannelClient
from deconflict.errors import BlindSessionError
from deconflict.strategic.volume import Volume
from tests.api.conftest import AppTransport, Channel, both_backends
from tests.api.test_ops import OPERATOR, OPERATOR_TOKEN
from tests.blind.strategies import volume_with
from tests.builders import T0_S, circle

channel_backend = pytest.fixture(params=["sqlite", "postgres"])(both_backends)

# Canaries: ids and coordinates no one but their party may ever see.
BLUE_CANARY = "blue-vol-CANARY-9d41"
RED_CANARY = "red-vol-CANARY-2b77"
CANARY_LON, CANARY_LAT = 36.123457, 35.987653


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    return {"metrics_token": OPERATOR_TOKEN, "blind_sessions_per_hour": 3, "max_request_bytes": 200_000}


def _v(name: str, party: str, lon: float, lat: float) -> Volume:
    return volume_with(circle(lon, lat, 5_000.0), name, party, T0_S, T0_S + 3600.0, 500.0, 1500.0)


BLUE = [_v(BLUE_CANARY, "blue", CANARY_LON, CANARY_LAT), _v("blue-far", "blue", 10.0, 50.0)]
RED = [_v(RED_CANARY, "red", CANARY_LON + 0.03, CANARY_LAT + 0.01), _v("red-far", "red", -70.0, -30.0)]


def _key(channel: Channel, party: str) -> Ed25519PrivateKey:
    key = load_pem_private_key(channel.keys[party], None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _client(channel: Channel, party: str) -> ChannelClient:
    return ChannelClient("http://testserver", channel.tokens[party], transport=AppTransport(channel.client))


def _party(channel: Channel, params: GridParameters, me: str, peer: str, volumes: list[Volume]) -> BlindParty:
    return BlindParty(
        params, me, peer, _key(channel, me), _key(channel, peer).public_key(), cover_volumes(volumes, params)
    )


def _params(session: str) -> GridParameters:
    return GridParameters(session, cell_deg=0.05, slot_s=900.0, band_m=300.0, cap=2048)


def _run_both(
    channel: Channel, params: GridParameters, *, end: bool = True
) -> tuple[BlindResult | Exception, BlindResult | Exception]:
    blue, red = _party(channel, params, "blue", "red", BLUE), _party(channel, params, "red", "blue", RED)
    _client(channel, "blue").blind_start(params.session_id, "red", params.describe())
    results: dict[str, BlindResult | Exception] = {}

    def run(name: str, party: BlindParty) -> None:
        try:
            results[name] = _client(channel, name).run_blind_session(
                party, poll_s=0.01, timeout_s=20.0, end=end
            )
        except Exception as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=run, args=("blue", blue)),
        threading.Thread(target=run, args=("red", red)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30.0)
    return results["blue"], results["red"]


def _db_url(channel: Channel) -> str | None:
    url = channel.app.state.services.settings.db_url
    return None if url is None else str(url.get_secret_value())


def _stored_text(channel: Channel, tmp_path: Path) -> bytes:
    """Everything the database holds: the SQLite files' bytes, or the PostgreSQL tables' rows."""
    db_url = _db_url(channel)
    if db_url is None:
        return b"".join(p.read_bytes() for p in tmp_path.glob("channel.db*"))
    import psycopg

    out = b""
    with psycopg.connect(db_url) as db:
        tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # type: ignore[call-overload]
                out += b"".join(
                    bytes(c) if isinstance(c, bytes | memoryview) else str(c).encode() for c in row
                )
    return out


def _canaries(params: GridParameters) -> list[bytes]:
    needles = [BLUE_CANARY.encode(), RED_CANARY.encode(), b"CANARY", b"36.1234", b"35.9876"]
    for volumes in (BLUE, RED):
        cover = cover_volumes(volumes, params)
        for element in hash_cells(cover.cells, params.session_id):
            needles += [element, base64.b64encode(element)]
        needles += [struct.pack(">4q", *row) for row in cover.cells.tolist()[:50]]
        needles += [repr(tuple(row)).encode() for row in cover.cells.tolist()[:50]]
    return needles


def test_two_parties_each_learn_their_own_matched_volumes_and_the_server_nothing(
    channel: Channel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    params = _params("blind-e2e-1")
    blue_result, red_result = _run_both(channel, params, end=False)
    assert isinstance(blue_result, BlindResult) and isinstance(red_result, BlindResult)
    assert [BLUE[i].id for i in blue_result.volumes.tolist()] == [BLUE_CANARY]
    assert [RED[i].id for i in red_result.volumes.tolist()] == [RED_CANARY]
    status = _client(channel, "red").blind_status(params.session_id)
    assert len(status["posted"]) == 6

    # Before the end, the blobs are stored (opaque); no canary shows in the database, log, metrics.
    stored = _stored_text(channel, tmp_path)
    metrics = channel.client.get("/metrics", headers=OPERATOR).content
    logged = caplog.text.encode()
    # Error bodies: the wrong phase, a repeated post, a stranger's fetch.
    errors = [
        channel.client.put(
            f"/v1/blind/sessions/{params.session_id}/messages/hello",
            content=b"x",
            headers=channel.auth("blue"),
        ),
        channel.client.get(
            f"/v1/blind/sessions/{params.session_id}/messages/blinded", headers=channel.auth("green")
        ),
        channel.client.put(
            f"/v1/blind/sessions/{params.session_id}/messages/bogus",
            content=b"x",
            headers=channel.auth("red"),
        ),
    ]
    assert [e.status_code for e in errors] == [409, 404, 422]
    bodies = b"".join(e.content for e in errors)
    for needle in _canaries(params):
        for where, text in (("database", stored), ("log", logged), ("metrics", metrics), ("errors", bodies)):
            assert needle not in text, (where, needle[:40])

    # Ending deletes every blob, for both parties.
    _client(channel, "blue").blind_end(params.session_id)
    gone = channel.client.get(f"/v1/blind/sessions/{params.session_id}", headers=channel.auth("red"))
    assert gone.status_code == 404
    db_url = _db_url(channel)
    if db_url is None:
        assert (
            channel.app.state.services.storage.database.connection.execute(
                "SELECT count(*) FROM blind_messages"
            ).fetchone()[0]
            == 0
        )
    else:
        import psycopg

        with psycopg.connect(db_url) as db:
            assert db.execute("SELECT count(*) FROM blind_messages").fetchone() == (0,)


def test_a_finished_session_is_ended_by_the_second_party_done(channel: Channel) -> None:
    params = _params("blind-done")
    blue_result, red_result = _run_both(channel, params)
    assert isinstance(blue_result, BlindResult) and isinstance(red_result, BlindResult)
    assert channel.app.state.services.storage.blind.session(params.session_id) is None
    assert channel.app.state.services.storage.blind.messages(params.session_id, "blue") == []


class _EndedAfterDone(ChannelClient):
    """Red, whose ``done`` the other party sees and ends the session on before red looks again."""

    def __init__(self, channel: Channel, ender: ChannelClient) -> None:
        super().__init__("http://testserver", channel.tokens["red"], transport=AppTransport(channel.client))
        self._ender = ender

    def blind_post(self, session_id: str, phase: str, body: bytes) -> Any:
        answer = super().blind_post(session_id, phase, body)
        if phase == "done":
            self._ender.blind_end(session_id)
        return answer


def test_a_party_whose_done_ends_the_session_at_once_still_gets_its_result(channel: Channel) -> None:
    # Both done at the same moment: blue, done first, sees red's done and ends the session
    # before red looks for blue's; red has its result all the same (it raised before).
    params = _params("blind-both-done")
    blue, red = _party(channel, params, "blue", "red", BLUE), _party(channel, params, "red", "blue", RED)
    blue_client = _client(channel, "blue")
    blue_client.blind_start(params.session_id, "red", params.describe())
    results: dict[str, BlindResult | Exception] = {}

    def run_blue() -> None:
        try:
            results["blue"] = blue_client.run_blind_session(blue, poll_s=0.01, timeout_s=20.0, end=False)
        except Exception as exc:
            results["blue"] = exc

    thread = threading.Thread(target=run_blue)
    thread.start()
    red_result = _EndedAfterDone(channel, blue_client).run_blind_session(red, poll_s=0.01, timeout_s=20.0)
    thread.join(30.0)
    assert isinstance(red_result, BlindResult)
    assert isinstance(results["blue"], BlindResult)
    assert channel.app.state.services.storage.blind.session(params.session_id) is None


def test_a_third_party_cannot_read_post_end_or_see_the_session(channel: Channel) -> None:
    params = _params("blind-private")
    _client(channel, "blue").blind_start(params.session_id, "red", params.describe())
    hello = _party(channel, params, "blue", "red", BLUE).hello().to_bytes()
    _client(channel, "blue").blind_post(params.session_id, "hello", hello)
    base = f"/v1/blind/sessions/{params.session_id}"
    green = channel.auth("green")
    answers = [
        channel.client.get(base, headers=green),
        channel.client.get(f"{base}/messages/hello", headers=green),
        channel.client.put(f"{base}/messages/hello", content=b"forged", headers=green),
        channel.client.delete(base, headers=green),
    ]
    assert [a.status_code for a in answers] == [404] * 4
    assert channel.client.get(base).status_code == 401
    # Blue's own message is not "addressed to" blue: it fetches only red's.
    assert channel.client.get(f"{base}/messages/hello", headers=channel.auth("blue")).status_code == 404
    assert channel.client.get(f"{base}/messages/hello", headers=channel.auth("red")).content == hello
    status = channel.client.get(base, headers=channel.auth("red")).json()
    assert status["posted"] == [{"sender": "blue", "phase": "hello"}]


def test_sessions_per_pair_are_bounded_per_hour_either_party_starting(channel: Channel) -> None:
    blue, red = _client(channel, "blue"), _client(channel, "red")
    blue.blind_start("rate-1", "red", "p")
    red.blind_start("rate-2", "blue", "p")
    blue.blind_end("rate-1")  # ending does not give the session back
    blue.blind_start("rate-3", "red", "p")
    refused = channel.client.post(
        "/v1/blind/sessions",
        json={"session": "rate-4", "peer": "blue", "parameters": "p"},
        headers=channel.auth("red"),
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # Another pair is not affected; an hour later the pair may start again.
    _client(channel, "green").blind_start("rate-5", "blue", "p")
    channel.clock.advance(3601.0)
    red.blind_start("rate-6", "blue", "p")
    # Ids are never reused, an unknown or revoked peer or oneself is refused.
    answers = [
        channel.client.post(
            "/v1/blind/sessions",
            json={"session": "rate-6", "peer": "green", "parameters": "p"},
            headers=channel.auth("blue"),
        ),
        channel.client.post(
            "/v1/blind/sessions",
            json={"session": "x1", "peer": "gone", "parameters": "p"},
            headers=channel.auth("blue"),
        ),
        channel.client.post(
            "/v1/blind/sessions",
            json={"session": "x2", "peer": "blue", "parameters": "p"},
            headers=channel.auth("blue"),
        ),
    ]
    assert [a.status_code for a in answers] == [409, 422, 422]


def test_a_message_over_max_request_bytes_is_refused_and_not_stored(channel: Channel) -> None:
    _client(channel, "blue").blind_start("big-1", "red", "p")
    refused = channel.client.put(
        "/v1/blind/sessions/big-1/messages/hello", content=b"\x00" * 200_001, headers=channel.auth("blue")
    )
    assert refused.status_code == 413
    assert channel.app.state.services.storage.blind.messages("big-1", "blue") == []


def test_sessions_expire_after_their_time_to_live(channel: Channel) -> None:
    blue = _client(channel, "blue")
    blue.blind_start("ttl-1", "red", "p")
    blue.blind_post("ttl-1", "hello", b"opaque")
    ttl_s = channel.app.state.services.settings.blind_session_ttl_s
    channel.clock.advance(ttl_s + 1.0)
    assert channel.client.get("/v1/blind/sessions/ttl-1", headers=channel.auth("red")).status_code == 404
    assert channel.app.state.services.storage.blind.messages("ttl-1", "blue") == []


def test_a_blob_altered_by_the_server_aborts_the_session_on_the_client(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _params("blind-tamper")
    store = channel.app.state.services.storage.blind
    original_put = store.put

    def tampering_put(session_id: str, sender: str, phase: str, body: bytes, now_s: float) -> bool:
        if sender == "blue" and phase == "blinded":
            # A careful server: a well-formed envelope whose sealed body has one bit flipped.
            envelope = json.loads(body)
            sealed = bytearray(base64.b64decode(envelope["body"]))
            sealed[len(sealed) // 2] ^= 0x01
            envelope["body"] = base64.b64encode(bytes(sealed)).decode("ascii")
            body = json.dumps(envelope).encode("ascii")
        return bool(original_put(session_id, sender, phase, body, now_s))

    monkeypatch.setattr(store, "put", tampering_put)  # the server's storage alters what blue posted
    blue_result, red_result = _run_both(channel, params)
    assert isinstance(red_result, BlindSessionError)
    assert "blinded" in str(red_result)
    # Red aborted and ended the session: blue learns it failed, never "no conflicts".
    assert isinstance(blue_result, BlindSessionError)
    assert (
        channel.client.get(
            f"/v1/blind/sessions/{params.session_id}", headers=channel.auth("blue")
        ).status_code
        == 404
    )
