"""The audit log contract, on both backends: one chain, all or nothing, its key, changes under it noticed."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from deconflict.channel.audit import GENESIS_HASH, AuditKind, AuditRecord, SharedTransaction
from deconflict.channel.audit_verify import verify_chain
from deconflict.errors import DeconflictError, StorageChangedError
from tests.builders import T0_S
from tests.storage.backends import Backend


def record(n: int) -> AuditRecord:
    return AuditRecord("blue", AuditKind.OPERATION_FILED, (f"operation:blue/op-{n}",), ("blue",), {"n": n})


def test_entries_chain_from_genesis_verify_and_survive_reopening(storage_backend: Backend) -> None:
    with storage_backend.store("audit") as log:
        assert log.head(T0_S).seq == 0 and log.head(T0_S).hash == GENESIS_HASH
        first = log.append([record(1), record(2)], T0_S)
        second = log.append([record(3)], T0_S + 1.25)
        public = log.public_key_pem
    with storage_backend.store("audit") as log:
        entries = log.entries()
        assert [e.seq for e in entries] == [1, 2, 3] and entries == [*first, *second]
        assert entries[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
        assert verify_chain(entries, public) == 3
        assert log.stored_public_key() == public
        assert [e.seq for e in log.entries(after_seq=1, limit=1)] == [2]
        head = log.head(T0_S + 5)
        assert (head.seq, head.hash) == (3, entries[-1].hash)


def test_once_and_a_failed_append_adds_nothing(storage_backend: Backend) -> None:
    with storage_backend.store("audit") as log:
        assert len(log.append([record(1)], T0_S, once=True)) == 1
        assert log.append([record(1)], T0_S + 5, once=True) == []
        bad = AuditRecord("blue", AuditKind.LOGIN_FAILED, (), (), {"x": float("nan")})
        with pytest.raises(ValueError):
            log.append([record(2), bad], T0_S)
        assert [e.seq for e in log.entries()] == [1]


def test_once_skips_what_the_chain_or_the_same_append_already_holds(storage_backend: Backend) -> None:
    with storage_backend.store("audit") as log:
        log.append([record(1)], T0_S)
        added = log.append([record(1), record(2), record(3), record(2)], T0_S + 1, once=True)
        assert [(e.seq, e.subject_json) for e in added] == [
            (2, '["operation:blue/op-2"]'),
            (3, '["operation:blue/op-3"]'),
        ]
        assert [e.seq for e in log.entries()] == [1, 2, 3]
        assert log.append([record(1), record(1)], T0_S + 2) != []  # without once, every record is added


def test_a_rolled_back_append_is_not_taken_for_a_changed_chain(storage_backend: Backend) -> None:
    with storage_backend.store("audit") as log:
        assert isinstance(log, SharedTransaction)
        log.append([record(1)], T0_S)
        with pytest.raises(RuntimeError), log.database.transaction():
            log.append([record(2)], T0_S)
            raise RuntimeError("the change the entry records failed")
        assert [e.seq for e in log.append([record(3)], T0_S)] == [2]


def test_a_chain_rewritten_under_the_log_stops_its_appends(storage_backend: Backend) -> None:
    with storage_backend.store("audit") as server, storage_backend.store("audit") as other:
        server.append([record(1), record(2)], T0_S)
        other.append([record(3)], T0_S)  # another writer extends the chain: fine
        server.append([record(4)], T0_S)
        with other.database.transaction() as db:  # as a restore of an older copy would
            db.execute("DELETE FROM audit_log WHERE seq >= 3")
        for n in (5, 6):
            with pytest.raises(StorageChangedError, match=r"entry 4 it appended \(hash [0-9a-f]+…\) is gone"):
                server.append([record(n)], T0_S)
    with storage_backend.store("audit") as reopened:
        assert [e.seq for e in reopened.entries()] == [1, 2]


def _key_file(log: object) -> Path:
    path = getattr(log, "key_path", None)
    assert isinstance(path, Path)
    return path


def test_a_lost_or_replaced_key_refuses_to_continue_the_chain(
    storage_backend: Backend, tmp_path: Path
) -> None:
    with storage_backend.store("audit") as log:
        log.append([record(1)], T0_S)
        key_file = _key_file(log)
    original = key_file.read_bytes()
    key_file.unlink()
    with storage_backend.store("audit") as log, pytest.raises(DeconflictError, match="audit key is missing"):
        log.append([record(2)], T0_S)
    from deconflict.storage.sqlite.audit import SQLiteAuditLog

    with SQLiteAuditLog(tmp_path / "other.db") as other:
        other.append([record(1)], T0_S)
        other.key_path.rename(key_file)
    with (
        storage_backend.store("audit") as log,
        pytest.raises(DeconflictError, match="not the key that signed"),
    ):
        log.append([record(2)], T0_S)
    key_file.write_bytes(original)
    with storage_backend.store("audit") as log:
        assert [e.seq for e in log.append([record(2)], T0_S)] == [2]
