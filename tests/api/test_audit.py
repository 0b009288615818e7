"""The audit chain through the API: a real sequence verifies, tampering is pinpointed, views disclose nothing.

The sequence: blue and red file conflicting plans, exchange signed messages, red
acknowledges, a deadline passes on the fake clock and escalates, and a stranger
fails to log in.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from deconflict.api.schemas.audit import AuditEntryOut, AuditLinkOut
from deconflict.channel.audit import ChainLink
from deconflict.channel.audit_verify import verify_chain
from deconflict.cli import main
from tests.api.conftest import SECRET_TEXT, Channel, ack, blue_plan, forbidden_strings, red_plan, send
from tests.servers import audit_key_file

STRANGER_TOKEN = "stranger-token-NEVER-STORED-0123456789abcdef"


def realistic_sequence(channel: Channel) -> None:
    client = channel.client
    assert client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue")).status_code == 201
    filed = client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    assert filed.status_code == 201 and len(filed.json()["conflicts"]) == 1
    first = send(channel, "blue")
    assert client.get("/v1/messages?box=inbox", headers=channel.auth("red")).status_code == 200
    assert ack(channel, "red", first["id"], "read").status_code == 200
    assert ack(channel, "red", first["id"], "accepted", "will do").status_code == 200
    send(channel, "red", to="blue", code="FREE", params={}, text="Confirm your FL?")
    channel.clock.advance(1800.0 + 900.0)  # past the reply_by, and the ladder's second step
    assert client.get("/v1/escalations", headers=channel.auth("blue")).status_code == 200
    stranger = {"Authorization": f"Bearer {STRANGER_TOKEN}"}
    assert client.get("/v1/operations", headers=stranger).status_code == 401
    assert (
        client.get("/v1/audit", headers={"Authorization": f"Bearer {channel.tokens['gone']}"}).status_code
        == 401
    )
    assert client.put(
        "/v1/operations/red-op", json=red_plan(), headers=channel.auth("red", If_Match='"1"')
    ).is_success
    assert client.post(
        "/v1/operations/red-op/withdraw", headers=channel.auth("red", If_Match='"2"')
    ).is_success


def rows(db: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()


def verify(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["audit", "verify", "--db", str(db), "--key", str(audit_key_file(db))])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def recorded(channel: Channel, tmp_path: Path) -> Path:
    realistic_sequence(channel)
    return tmp_path / "channel.db"


def test_the_realistic_sequence_is_recorded_and_verifies(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kinds = [r["kind"] for r in rows(recorded)]
    for kind in (
        "operation_filed",
        "conflict_found",
        "message_sent",
        "message_delivered",
        "message_acknowledged",
        "message_overdue",
        "escalation",
        "login_failed",
        "operation_updated",
        "operation_withdrawn",
    ):
        assert kind in kinds, kind
    assert kinds.count("escalation") == 2  # steps 0 and 1 of (0, 900, 3600), once each
    assert kinds.count("message_overdue") == 1
    assert kinds.count("conflict_found") == 2  # on filing and on the amendment
    code, out, err = verify(recorded, capsys)
    assert (code, err) == (0, "")
    # 2 messages, 2 operations, 2 conflicts: each in the state the log says
    assert (
        out.strip()
        == f"chain verified: {len(kinds)} entries, 2 message signatures, 6 stored objects as logged"
    )


def test_failed_logins_are_recorded_without_the_token(recorded: Path, channel: Channel) -> None:
    failures = [json.loads(r["payload"]) for r in rows(recorded) if r["kind"] == "login_failed"]
    reasons = {f["reason"]: f["presented_sha256"] for f in failures}
    assert reasons["unknown token"] == hashlib.sha256(STRANGER_TOKEN.encode()).hexdigest()
    assert "token of revoked party 'gone'" in reasons
    dump = "\n".join(recorded.parent.joinpath(name).read_bytes().decode("latin-1") for name in ["channel.db"])
    dump += json.dumps([dict(r) for r in rows(recorded)])
    for token in (STRANGER_TOKEN, channel.tokens["gone"]):
        assert token not in dump


def test_a_missing_authorization_header_is_recorded(channel: Channel, tmp_path: Path) -> None:
    assert channel.client.get("/v1/conflicts").status_code == 401
    assert (
        channel.client.get("/v1/conflicts", headers={"Authorization": "Basic Ymx1ZTpibHVl"}).status_code
        == 401
    )
    payloads = [json.loads(r["payload"]) for r in rows(tmp_path / "channel.db")]
    assert payloads[0] == {
        "presented_sha256": None,
        "reason": "no Authorization header",
        "source": "testclient",  # the client's address (TestClient's name for it)
        "count": 1,
    }
    assert payloads[1]["reason"].startswith("malformed Authorization header")
    assert payloads[1]["presented_sha256"] == hashlib.sha256(b"Basic Ymx1ZTpibHVl").hexdigest()


def _flip(text: str, index: int) -> str:
    char = text[index]
    return text[:index] + ("1" if char != "1" else "2") + text[index + 1 :]


TAMPERINGS = {
    "payload": (
        "UPDATE audit_log SET payload = replace(payload, '\"version\":1', '\"version\":7') WHERE seq = ?"
    ),
    "hash": None,
    "prev_hash": None,
    "signature": None,
    "time_s": "UPDATE audit_log SET time_s = time_s + 0.000001 WHERE seq = ?",
    "actor": "UPDATE audit_log SET actor = 'green' WHERE seq = ?",
    "subject": "UPDATE audit_log SET subject = '[\"operation:red/other\"]' WHERE seq = ?",
}


@pytest.mark.parametrize("column", sorted(TAMPERINGS))
def test_altering_one_field_of_an_entry_is_pinpointed(
    recorded: Path, capsys: pytest.CaptureFixture[str], column: str
) -> None:
    target = next(r["seq"] for r in rows(recorded) if r["kind"] == "operation_filed" and r["actor"] == "red")
    with sqlite3.connect(recorded) as connection:
        sql = TAMPERINGS[column]
        if sql is None:
            (value,) = connection.execute(
                f"SELECT {column} FROM audit_log WHERE seq = ?", (target,)
            ).fetchone()
            connection.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = ?", (_flip(value, 5), target))
        else:
            assert connection.execute(sql, (target,)).rowcount == 1
    code, out, err = verify(recorded, capsys)
    assert (code, out) == (1, "")
    assert f"entry {target} (operation_filed)" in err, err


def test_deleting_an_entry_is_pinpointed(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(recorded) as connection:
        connection.execute("DELETE FROM audit_log WHERE seq = 3")
    code, _, err = verify(recorded, capsys)
    assert code == 1 and "entry 4 " in err and "expected seq 3" in err


def test_reordering_entries_is_pinpointed(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(recorded) as connection:
        connection.execute("UPDATE audit_log SET seq = -1 WHERE seq = 4")
        connection.execute("UPDATE audit_log SET seq = 4 WHERE seq = 5")
        connection.execute("UPDATE audit_log SET seq = 5 WHERE seq = -1")
    code, _, err = verify(recorded, capsys)
    assert code == 1 and "entry 4 " in err


def test_renumbering_a_consistent_copy_still_fails_on_the_signatures(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dropping the last entry leaves a valid prefix: the log cannot show truncation by itself,
    # but every message must still have its entry.
    with sqlite3.connect(recorded) as connection:
        seq = connection.execute("SELECT max(seq) FROM audit_log WHERE kind = 'message_sent'").fetchone()[0]
        connection.execute("DELETE FROM audit_log WHERE seq >= ?", (seq,))
    code, _, err = verify(recorded, capsys)
    assert code == 1 and "no message_sent entry" in err


@pytest.mark.parametrize(
    ("column", "sql"),
    [
        ("text", "UPDATE messages SET text = text || '!' WHERE id = 1"),
        ("signature", "UPDATE messages SET signature = 'A' || substr(signature, 2) WHERE id = 1"),
        ("params", "UPDATE messages SET params_json = replace(params_json, 'FL100', 'FL110') WHERE id = 1"),
    ],
)
def test_tampering_a_stored_message_is_pinpointed(
    recorded: Path, capsys: pytest.CaptureFixture[str], column: str, sql: str
) -> None:
    with sqlite3.connect(recorded) as connection:
        assert connection.execute(sql).rowcount == 1
    code, _, err = verify(recorded, capsys)
    assert code == 1 and "message 1 from 'blue'" in err, (column, err)


def test_a_message_differing_from_its_entry_is_pinpointed(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(recorded) as connection:
        connection.execute("DELETE FROM messages WHERE id = 2")
    code, _, err = verify(recorded, capsys)
    assert code == 1 and "message 2 is missing from the store" in err


def view(channel: Channel, party: str) -> tuple[dict[str, Any], str]:
    response = channel.client.get("/v1/audit", headers=channel.auth(party))
    assert response.status_code == 200, response.text
    return response.json(), response.text


def items(document: dict[str, Any]) -> list[Any]:
    return [
        AuditEntryOut(**e).entry() if e["visible"] else AuditLinkOut(**e).link() for e in document["entries"]
    ]


def test_each_party_verifies_its_view_end_to_end(recorded: Path, channel: Channel) -> None:
    key = channel.client.get("/v1/audit/key", headers=channel.auth("green")).json()["public_key_pem"]
    total = len(rows(recorded))
    for party in ("blue", "red", "green"):
        document, _ = view(channel, party)
        assert document["public_key_pem"] == key and document["party"] == party
        assert verify_chain(items(document), key) == total
        for entry in document["entries"]:
            if entry["visible"]:
                assert party in entry["audience"]
            else:
                assert set(entry) == {"visible", "seq", "prev_hash", "hash"}
    green, _ = view(channel, "green")
    assert not any(e["visible"] for e in green["entries"])


def test_a_view_discloses_nothing_of_the_other_partys_plans_or_messages(
    recorded: Path, channel: Channel
) -> None:
    _, red_text = view(channel, "red")
    for secret in forbidden_strings():
        assert secret not in red_text, f"red's audit view discloses {secret!r}"
    document, _ = view(channel, "red")
    kinds = {e["kind"] for e in document["entries"] if e["visible"]}
    assert {"conflict_found", "message_sent", "operation_filed"} <= kinds
    filed = [e for e in document["entries"] if e["visible"] and e["kind"] == "operation_filed"]
    assert {e["actor"] for e in filed} == {"red"}
    _, green_text = view(channel, "green")
    for secret in [*forbidden_strings(), SECRET_TEXT, "red-op", "red-v1", "message:", "blue", "red"]:
        assert secret not in green_text, secret


def test_the_view_pages(recorded: Path, channel: Channel) -> None:
    first = channel.client.get("/v1/audit?limit=3", headers=channel.auth("blue")).json()
    assert [e["seq"] for e in first["entries"]] == [1, 2, 3] and first["next_after"] == 3
    rest = channel.client.get("/v1/audit?after=3&limit=10000", headers=channel.auth("blue")).json()
    assert rest["next_after"] is None and rest["entries"][0]["seq"] == 4
    key = first["public_key_pem"]
    assert verify_chain(items(rest), key, first_seq=4) == len(rest["entries"])
    forged = [*items(rest)]
    forged[1] = ChainLink(forged[1].seq, "0" * 64, forged[1].hash)
    with pytest.raises(Exception, match="entry 5: prev_hash"):
        verify_chain(forged, key, first_seq=4)
