"""The audit chain itself: sealing, canonical encoding, verification, the SQLite log and its key file."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from deconflict.channel.audit import (
    GENESIS_HASH,
    AuditKind,
    AuditRecord,
    ChainLink,
    entry_bytes,
)
from deconflict.channel.audit_verify import verify_chain
from deconflict.errors import AuditError, DeconflictError
from deconflict.storage import SQLiteAuditLog
from deconflict.storage.sqlite.audit import audit_key_path
from tests.builders import T0_S


def record(n: int, audience: tuple[str, ...] = ("blue",)) -> AuditRecord:
    return AuditRecord(
        "blue", AuditKind.OPERATION_FILED, (f"operation:blue/op-{n}",), audience, {"n": n, "é": 1.5}
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[SQLiteAuditLog]:
    with SQLiteAuditLog(tmp_path / "a.db") as opened:
        yield opened


def test_entries_chain_from_genesis_and_verify(log: SQLiteAuditLog) -> None:
    first = log.append([record(1), record(2)], T0_S)
    second = log.append([record(3)], T0_S + 1.25)
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3] and entries == [*first, *second]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert verify_chain(entries, log.public_key_pem) == 3


def test_the_hash_is_sha256_of_the_documented_canonical_json(log: SQLiteAuditLog) -> None:
    (entry,) = log.append([record(1)], T0_S)
    expected = (
        '{"actor":"blue","audience":["blue"],"kind":"operation_filed","payload":{"n":1,"é":1.5},'
        f'"prev_hash":"{GENESIS_HASH}","seq":1,"subject":["operation:blue/op-1"],"time_s":{T0_S!r}}}'
    )
    data = entry_bytes(
        1, T0_S, "blue", "operation_filed", ["operation:blue/op-1"], ["blue"], entry.payload, GENESIS_HASH
    )
    assert data == expected.encode("utf-8")
    assert entry.hash == hashlib.sha256(data).hexdigest()
    assert entry.payload_json == '{"n":1,"é":1.5}'


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"payload_json": '{"n":9,"é":1.5}'}, "hash does not match"),
        ({"payload_json": '{"n": 1, "é": 1.5}'}, "not in canonical JSON"),
        ({"payload_json": '{"n":1,"é":1.5'}, "not JSON"),
        ({"audience_json": '["blue","red"]'}, "hash does not match"),
        ({"time_s": T0_S + 1e-6}, "hash does not match"),
        ({"kind": "operation_updated"}, "hash does not match"),
        ({"hash": "f" * 64}, "hash does not match the entry's contents"),
        ({"signature": "AAAA"}, "server signature does not verify"),
        ({"prev_hash": "1" * 64}, "prev_hash does not match the hash of entry 1"),
    ],
)
def test_any_altered_field_names_the_entry(
    log: SQLiteAuditLog, change: dict[str, object], message: str
) -> None:
    log.append([record(1), record(2), record(3)], T0_S)
    entries = log.entries()
    entries[1] = replace(entries[1], **change)  # type: ignore[arg-type]
    with pytest.raises(AuditError) as caught:
        verify_chain(entries, log.public_key_pem)
    assert caught.value.seq == 2 and str(caught.value).startswith("entry 2 (operation_")
    assert message in str(caught.value)


def test_missing_and_reordered_entries_are_named(log: SQLiteAuditLog) -> None:
    log.append([record(n) for n in range(1, 5)], T0_S)
    entries = log.entries()
    with pytest.raises(
        AuditError, match=r"entry 3 \(operation_filed\): expected seq 2 \(an entry is missing\)"
    ):
        verify_chain([entries[0], *entries[2:]], log.public_key_pem)
    with pytest.raises(AuditError, match=r"entry 3 .*expected seq 2"):
        verify_chain([entries[0], entries[2], entries[1], entries[3]], log.public_key_pem)


def test_another_key_does_not_verify(log: SQLiteAuditLog, tmp_path: Path) -> None:
    log.append([record(1)], T0_S)
    with (
        SQLiteAuditLog(tmp_path / "other.db") as other,
        pytest.raises(AuditError, match=r"entry 1 .*server signature does not verify"),
    ):
        verify_chain(log.entries(), other.public_key_pem)


def test_links_check_only_the_chain(log: SQLiteAuditLog) -> None:
    log.append([record(1), record(2, ("red",)), record(3)], T0_S)
    entries = log.entries()
    view = [e if e.visible_to("blue") else e.link() for e in entries]
    assert isinstance(view[1], ChainLink) and verify_chain(view, log.public_key_pem) == 3
    view[1] = ChainLink(2, view[1].prev_hash, "e" * 64)
    with pytest.raises(AuditError, match=r"entry 3 .*prev_hash"):
        verify_chain(view, log.public_key_pem)


def test_once_records_a_subject_only_once(log: SQLiteAuditLog) -> None:
    assert len(log.append([record(1)], T0_S, once=True)) == 1
    assert log.append([record(1)], T0_S + 5, once=True) == []
    assert len(log.append([record(1)], T0_S + 5)) == 1


def test_once_holds_within_one_batch(log: SQLiteAuditLog) -> None:
    added = log.append([record(2), record(3), record(2)], T0_S, once=True)
    assert [e.seq for e in added] == [1, 2] and [e.seq for e in log.entries()] == [1, 2]
    assert log.append([record(3), record(4)], T0_S + 1, once=True)[0].seq == 3


def test_a_large_batch_is_one_verifiable_chain(log: SQLiteAuditLog) -> None:
    added = log.append([record(n) for n in range(1, 2_001)], T0_S)
    assert log.entries() == added and [e.seq for e in added] == list(range(1, 2_001))
    assert verify_chain(log.entries(), log.public_key_pem) == 2_000


def test_a_failed_append_adds_nothing(log: SQLiteAuditLog) -> None:
    bad = AuditRecord("blue", AuditKind.LOGIN_FAILED, (), (), {"x": float("nan")})
    with pytest.raises(ValueError):
        log.append([record(1), bad], T0_S)
    assert log.entries() == []


def test_the_key_file_is_private_and_the_database_holds_only_the_public_key(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    with SQLiteAuditLog(db) as log:
        assert not audit_key_path(db).exists()  # created on first use only
        log.append([record(1)], T0_S)
        public = log.public_key_pem
    key_file = audit_key_path(db)
    assert key_file.name == "k.db.audit-key.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes() and b"PRIVATE KEY" not in db.read_bytes()
    with SQLiteAuditLog(db) as reopened:
        assert reopened.stored_public_key() == public
        reopened.append([record(2)], T0_S)
        assert verify_chain(reopened.entries(), public) == 2


def test_a_lost_or_replaced_key_refuses_to_continue_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    with SQLiteAuditLog(db) as log:
        log.append([record(1)], T0_S)
    key_file = audit_key_path(db)
    original = key_file.read_bytes()
    key_file.unlink()
    with SQLiteAuditLog(db) as log, pytest.raises(DeconflictError, match="audit key is missing"):
        log.append([record(2)], T0_S)
    with SQLiteAuditLog(tmp_path / "other.db") as other:
        other.append([record(1)], T0_S)
    audit_key_path(tmp_path / "other.db").rename(key_file)
    with SQLiteAuditLog(db) as log, pytest.raises(DeconflictError, match="not the key that signed"):
        log.append([record(2)], T0_S)
    key_file.write_bytes(original)


def test_views_parse_tampered_json_as_invisible(log: SQLiteAuditLog) -> None:
    (entry,) = log.append([record(1)], T0_S)
    assert entry.visible_to("blue") and not entry.visible_to("red")
    assert not replace(entry, audience_json="[").visible_to("blue")
    assert json.loads(entry.subject_json) == entry.subject


def test_a_checkpoint_holds_the_server_to_its_chain(log: SQLiteAuditLog) -> None:
    from deconflict.channel.audit_verify import verify_checkpoints

    assert log.head(T0_S).seq == 0 and log.head(T0_S).hash == GENESIS_HASH
    log.append([record(1), record(2), record(3)], T0_S)
    head = log.head(T0_S + 5.0)
    assert (head.seq, head.hash) == (3, log.entries()[-1].hash)
    key = log.public_key_pem
    entries = log.entries()
    assert verify_checkpoints(entries, [("cp.json", head)], key) == 1
    longer = [*entries, *log.append([record(4)], T0_S + 6.0)]
    assert verify_checkpoints(longer, [("cp.json", head)], key) == 1  # the chain grew past it: fine
    with pytest.raises(AuditError, match=r"cp\.json \(seq 3\): .* ends at entry 2: entries were cut off"):
        verify_checkpoints(entries[:2], [("cp.json", head)], key)
    rewritten = [*entries[:2], ChainLink(3, entries[1].hash, "f" * 64)]
    with pytest.raises(AuditError, match=r"entry 3 is not the one the server signed .* rewritten"):
        verify_checkpoints(rewritten, [("cp.json", head)], key)
    forged = replace(head, time_s=head.time_s + 1.0)
    with pytest.raises(AuditError, match="its signature does not verify with the server key"):
        verify_checkpoints(entries, [("cp.json", forged)], key)


def test_a_rolled_back_append_is_not_taken_for_a_changed_chain(log: SQLiteAuditLog) -> None:
    log.append([record(1)], T0_S)
    with pytest.raises(RuntimeError), log.database.transaction():
        log.append([record(2)], T0_S)
        raise RuntimeError("the change the entry records failed")
    assert [e.seq for e in log.append([record(3)], T0_S)] == [2]


def test_a_chain_rewritten_under_the_log_stops_its_appends(tmp_path: Path) -> None:
    from deconflict.errors import StorageChangedError

    with SQLiteAuditLog(tmp_path / "a.db") as server, SQLiteAuditLog(tmp_path / "a.db") as other:
        server.append([record(1), record(2)], T0_S)
        other.append([record(3)], T0_S)  # another writer extends the chain: fine
        server.append([record(4)], T0_S)
        with other.database.transaction() as db:  # as a restore of an older copy would
            db.execute("DELETE FROM audit_log WHERE seq >= 3")
        for n in (5, 6):
            with pytest.raises(StorageChangedError, match=r"entry 4 it appended \(hash [0-9a-f]+…\) is gone"):
                server.append([record(n)], T0_S)
    with SQLiteAuditLog(tmp_path / "a.db") as reopened:
        assert [e.seq for e in reopened.entries()] == [1, 2]


def test_a_database_file_replaced_under_the_log_stops_its_appends(tmp_path: Path) -> None:
    from deconflict.errors import StorageChangedError

    with SQLiteAuditLog(tmp_path / "a.db") as server:
        server.append([record(1)], T0_S)
        SQLiteAuditLog(tmp_path / "b.db").close()
        os.replace(tmp_path / "b.db", tmp_path / "a.db")
        with pytest.raises(StorageChangedError, match="no longer the file the server opened"):
            server.append([record(2)], T0_S)
