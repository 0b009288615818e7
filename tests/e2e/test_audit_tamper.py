"""Whoever holds the database cannot rewrite the audit log unseen (a real ``deconflict serve`` wrote it).

A real server records a short channel history (two plans in conflict, two
signed messages, one read); a party saves a checkpoint (``deconflict audit
checkpoint``) and the operator the server key (``deconflict audit key``).
Then each attack edits a copy of the database as its holder could, and
``deconflict audit verify --db COPY --key KEY --checkpoint CP`` must fail,
naming what is wrong; without ``--key`` (or ``--pin``) it refuses to run.
A database restored under a running server (beneath its lock) stops the
server's writes instead of letting it answer a second, different "sent #N".
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from deconflict.channel.audit import AuditRecord
from deconflict.channel.keys import generate_key_pair
from deconflict.channel.public_ids import IdKind
from deconflict.client import ChannelClient, ChannelError
from deconflict.storage import SQLiteAuditLog
from deconflict.storage.sqlite.audit import audit_key_path
from deconflict.storage.sqlite.public_ids import load_public_ids
from tests.builders import box_feature, plan
from tests.cli.conftest import run_main
from tests.servers import call_api, new_party, serve_process


@dataclass(frozen=True)
class Recorded:
    db: Path
    key: Path
    checkpoint: Path
    read_message: int
    unread_message: int


def _plan(operation_id: str) -> dict[str, object]:
    return plan(operation_id, box_feature("v1", 36.1, 35.2, 36.4, 35.5))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("tamper")
    db = root / "channel.db"
    blue, red = (new_party(db, root, name) for name in ("blue", "red"))
    with serve_process(db, root / "serve.log") as (_, url):
        sender = ChannelClient(url, blue.token, private_key_pem=blue.key)
        recipient = ChannelClient(url, red.token, private_key_pem=red.key)
        sender.file_operation("blue-op", _plan("blue-op"))
        recipient.file_operation("red-op", _plan("red-op"))  # conflicts with blue-op
        first = sender.send("red", "FREE", text="please confirm")
        second = sender.send("red", "FREE", text="still there?")
        recipient.messages("inbox")  # both delivered
        recipient.ack(first["id"], "read")
        checkpoint = root / "blue-checkpoint.json"
        code, _, err = run_main(
            "audit", "checkpoint", "--url", url, "--token", blue.token, "--out", str(checkpoint)
        )
        assert code == 0, err
        sender.audit()  # the client keeps the head it saw with the view
        assert (
            sender.checkpoint is not None
            and sender.checkpoint["seq"] == json.loads(checkpoint.read_text())["seq"]
        )
        code, from_server, err = run_main("audit", "key", "--url", url, "--token", red.token)
        assert code == 0, err
    key = root / "server.pub.pem"
    code, _, err = run_main("audit", "key", "--db", str(db), "--out", str(key))
    assert code == 0, err
    assert from_server == key.read_text()  # the server says the key its key file holds
    assert json.loads(checkpoint.read_text())["seq"] > 0
    return Recorded(db, key, checkpoint, int(first["id"]), int(second["id"]))


def _copy(recorded: Recorded, folder: Path) -> Path:
    copy = folder / "copy.db"
    shutil.copyfile(recorded.db, copy)  # the server has stopped: no -wal beside the file
    shutil.copyfile(audit_key_path(recorded.db), audit_key_path(copy))
    return copy


def _verify(recorded: Recorded, db: Path, *extra: str) -> tuple[int, str]:
    code, out, err = run_main("audit", "verify", "--db", str(db), *extra)
    return code, out + err


def _full_check(recorded: Recorded, db: Path) -> tuple[int, str]:
    return _verify(recorded, db, "--key", str(recorded.key), "--checkpoint", str(recorded.checkpoint))


def test_the_untouched_database_verifies_against_the_key_and_the_checkpoint(recorded: Recorded) -> None:
    code, output = _full_check(recorded, recorded.db)
    assert code == 0, output
    assert "1 checkpoint contained" in output


def _truncate_tail(db: Path, recorded: Recorded) -> None:
    with sqlite3.connect(db) as raw:
        last = raw.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
        raw.execute("DELETE FROM audit_log WHERE seq > ?", (last - 2,))


def _row(db: Path, message_id: int) -> int:
    """The row of a message id the API gave (a public id)."""
    return load_public_ids(db).row(IdKind.MESSAGE, message_id)


def _change_acknowledgement(db: Path, recorded: Recorded) -> None:
    with sqlite3.connect(db) as raw:
        raw.execute(
            "UPDATE messages SET level = 'accepted', answered_s = read_s WHERE id = ?",
            (_row(db, recorded.read_message),),
        )


def _resign_without_a_message(db: Path, recorded: Recorded) -> None:
    """Delete a message and its entries, re-sign the whole chain with a new key, swap the stored key."""
    gone = recorded.unread_message
    with sqlite3.connect(db) as raw:
        rows = raw.execute(
            "SELECT time_s, actor, kind, subject, audience, payload FROM audit_log ORDER BY seq"
        )
        kept = [r for r in rows.fetchall() if json.loads(r[5]).get("message_id") != gone]
        raw.execute("DELETE FROM audit_log")
        raw.execute("DELETE FROM audit_meta")
        raw.execute("DELETE FROM messages WHERE id = ?", (_row(db, gone),))
    new_key = db.with_name("attacker-key.pem")
    new_key.write_bytes(generate_key_pair()[0])
    with SQLiteAuditLog(db, key_path=new_key) as forger:  # the server's own writer, with another key
        for time_s, actor, kind, subject, audience, payload in kept:
            record = AuditRecord(
                actor, kind, tuple(json.loads(subject)), tuple(json.loads(audience)), json.loads(payload)
            )
            forger.append([record], time_s)
    shutil.copyfile(new_key, audit_key_path(db))


ATTACKS: dict[str, tuple[Callable[[Path, Recorded], None], str]] = {
    "truncate the tail": (_truncate_tail, "entries were cut off"),
    "change an acknowledgement level": (_change_acknowledgement, "stored level accepted, log says read"),
    "delete a message, re-sign with a new key, swap the stored key": (
        _resign_without_a_message,
        "the server key stored in the database is not the one in",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_each_tampering_fails_verification_with_the_key_and_the_checkpoint(
    recorded: Recorded, tmp_path: Path, attack: str
) -> None:
    tamper, expected = ATTACKS[attack]
    copy = _copy(recorded, tmp_path)
    tamper(copy, recorded)
    code, output = _full_check(recorded, copy)
    assert code == 1, output
    assert expected in output, output
    assert output.startswith("audit verify: FAILED:"), output
    code, output = _verify(recorded, copy)  # the key the database holds is never enough
    assert code == 2, output
    assert "--key" in output


def test_a_changed_acknowledgement_is_named_with_its_message(recorded: Recorded, tmp_path: Path) -> None:
    copy = _copy(recorded, tmp_path)
    _change_acknowledgement(copy, recorded)
    code, output = _verify(recorded, copy, "--key", str(recorded.key))
    assert code == 1
    # The operator's tool names the row (the party knows the message by its public id).
    assert f"message #{_row(copy, recorded.read_message)}: stored level accepted, log says read" in output


def test_a_pinned_key_catches_the_swapped_key(recorded: Recorded, tmp_path: Path) -> None:
    pin = tmp_path / "pinned.pem"
    code, output = _verify(recorded, recorded.db, "--pin", str(pin))
    assert code == 0, output
    assert pin.read_text() == recorded.key.read_text()  # pinned on first use
    copy = _copy(recorded, tmp_path)
    _resign_without_a_message(copy, recorded)
    code, output = _verify(recorded, copy, "--pin", str(pin))
    assert code == 1, output
    assert "the server key is not the one pinned in" in output


def test_a_database_restored_under_a_running_server_stops_its_writes(tmp_path: Path) -> None:
    db = tmp_path / "channel.db"
    blue, _ = (new_party(db, tmp_path, name) for name in ("blue", "red"))
    code, _, err = run_main("db", "backup", str(tmp_path / "backup.db"), "--db", str(db))
    assert code == 0, err
    with serve_process(db, tmp_path / "serve.log") as (_, url):
        client = ChannelClient(url, blue.token, private_key_pem=blue.key)
        sent = client.send("red", "FREE", text="first")
        assert _row(db, sent["id"]) == 1
        # A restore that ignores the server's lock (the CLI refuses): the backup copied into the file.
        with sqlite3.connect(tmp_path / "backup.db") as source, sqlite3.connect(db) as target:
            source.backup(target)
        for text in ("second", "third"):
            with pytest.raises(ChannelError) as refused:
                client.send("red", "FREE", text=text)
            assert refused.value.status == 503
            assert "the audit chain changed under the server" in str(refused.value)
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM messages").fetchone()[0] == 0  # no second "sent #1"


def test_a_thousand_bad_tokens_add_a_handful_of_entries_and_get_429(tmp_path: Path) -> None:
    db = tmp_path / "channel.db"
    blue = new_party(db, tmp_path, "blue")
    env = {**os.environ, "DECONFLICT_LOGIN_FAILURES_PER_MINUTE": "30"}
    with serve_process(db, tmp_path / "serve.log", env) as (_, url):
        statuses = Counter(call_api(url, f"bad-{n}", "GET", "/v1/conflicts")[0] for n in range(1000))
        assert statuses == {401: 30, 429: 970}
        request = urllib.request.Request(f"{url}/v1/conflicts", headers={"Authorization": "Bearer bad"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        refused.value.close()
        assert refused.value.code == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
        assert call_api(url, blue.token, "GET", "/v1/conflicts")[0] == 200  # a good token still passes
    with sqlite3.connect(db) as raw:
        failures = [
            json.loads(p) for (p,) in raw.execute("SELECT payload FROM audit_log WHERE kind = 'login_failed'")
        ]
    assert len(failures) <= 3
    assert sum(f["count"] for f in failures) == 1001  # every failure counted, none lost at shutdown
    assert {f["source"] for f in failures} == {"127.0.0.1"}
    assert failures[0]["reason"] == "unknown token" and failures[0]["count"] == 1
