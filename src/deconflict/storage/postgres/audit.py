"""The audit chain in the PostgreSQL database; the server's private key in a file of its own.

The database keeps the chain and the public key (``audit_meta``); the private
key is a file (mode 0600, created on the first append) that a database dump
does not contain, as with SQLite (:mod:`deconflict.storage.sqlite.audit`),
except that no database file sits beside it: its path is given. The log
refuses to append with any other key than the one that signed the chain.

Appending runs in a write transaction (the database's writer lock), so every
process and node writing the database extends one chain in turn. Opened on a
:class:`~deconflict.storage.postgres.database.Database` shared with other
stores, the log offers ``transaction_with``: their change and its entries
commit in one transaction. Before each append the log checks that the last
entry it appended is still in the chain with the same hash; if not (the
database was restored or edited under it) it refuses this and every later
append with :class:`~deconflict.errors.StorageChangedError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from deconflict.channel.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    AuditSigner,
    Checkpoint,
    canonical_json,
    seal,
    sign_checkpoint,
)
from deconflict.channel.public_ids import PublicIds
from deconflict.errors import DeconflictError, StorageChangedError
from deconflict.storage.postgres.database import Connection, Database, DatabaseStore
from deconflict.storage.postgres.public_ids import load_public_ids
from deconflict.storage.rows import AUDIT_COLUMNS, audit_entry, audit_row, chain_changed, create_key_file

__all__ = ["PostgresAuditLog"]

_HEAD = (
    "WITH head AS (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) "
    "SELECT (SELECT hash FROM audit_log WHERE seq = %s) AS known, "
    "(SELECT seq FROM head) AS seq, (SELECT hash FROM head) AS hash"
)
"""The chain's head and the stored hash of the entry this log appended last: one round trip."""


class PostgresAuditLog(DatabaseStore):
    """A :class:`~deconflict.channel.audit.AuditLog` (and ``SharedTransaction``) in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the other stores.
    key_path
        The server's private key file. It is read (or created) only when needed:
        a log opened to verify never creates one.
    """

    def __init__(self, url: str | Database, key_path: Path) -> None:
        super().__init__(url)
        self.key_path = key_path
        self._signer: AuditSigner | None = None
        self._public_ids: PublicIds | None = None
        self._known_head: tuple[int, str] | None = None  # the last entry this log appended
        self._changed: str | None = None  # why appending stopped, once it has

    def _check_unchanged(self, known_hash: str | None) -> None:
        """Refuse to append once the entry this log appended last is gone or changed (``known_hash``,
        read in the appending transaction, is its stored hash, ``None`` when missing)."""
        if self._changed is None and self._known_head is not None:
            seq, digest = self._known_head
            self._changed = chain_changed(self.where, seq, digest, known_hash)
        if self._changed is not None:
            raise StorageChangedError(f"{self._changed}; no more writes: restart the server")

    def transaction_with(self, *stores: object) -> AbstractContextManager[object]:
        """One transaction for the log and ``stores`` if they share its database, else no transaction."""
        if stores and all(getattr(s, "database", None) is self.database for s in stores):
            return self.database.transaction()
        return contextlib.nullcontext()

    def stored_public_key(self) -> str | None:
        """The public key recorded in the database (that signed the chain), or ``None`` before any."""
        with self.database.connection() as db:
            row = db.execute("SELECT value FROM audit_meta WHERE key = 'public_key_pem'").fetchone()
        return None if row is None else str(row["value"])

    def _load_signer(self) -> AuditSigner:
        if self._signer is not None:
            return self._signer
        if not self.key_path.exists():
            if self.stored_public_key() is not None:
                raise DeconflictError(
                    f"{self.key_path}: the server's audit key is missing, but {self.where} holds a chain "
                    "signed with it; restore the key file (no other key can continue the chain)"
                )
            create_key_file(self.key_path)
        signer = AuditSigner(self.key_path.read_bytes(), source=str(self.key_path))
        with self.database.connection() as db:
            db.execute(
                "INSERT INTO audit_meta (key, value) VALUES ('public_key_pem', %s) "
                "ON CONFLICT (key) DO NOTHING",
                (signer.public_key_pem,),
            )
            row = db.execute("SELECT value FROM audit_meta WHERE key = 'public_key_pem'").fetchone()
        if row is None or str(row["value"]) != signer.public_key_pem:
            raise DeconflictError(
                f"{self.key_path}: this is not the key that signed the audit chain of {self.where}"
            )
        self._signer = signer
        return signer

    @property
    def public_ids(self) -> PublicIds:
        """The database's public ids (:mod:`deconflict.storage.postgres.public_ids`), read once."""
        if self._public_ids is None:
            self._public_ids = load_public_ids(self.database)
        return self._public_ids

    @property
    def public_key_pem(self) -> str:
        """The server's public key (the key pair is created on first use)."""
        return self._load_signer().public_key_pem

    def append(
        self, records: Sequence[AuditRecord], time_s: float, *, once: bool = False
    ) -> list[AuditEntry]:
        if not records:
            return []
        signer = self._load_signer()
        added: list[AuditEntry] = []
        known_seq = None if self._known_head is None else self._known_head[0]
        # Inside a caller's transaction, no savepoint: everything it writes is one statement (see
        # Database.transaction), and each round trip here holds the cluster's writer lock.
        with self.database.transaction(savepoint=False) as db:
            row = db.execute(_HEAD, (known_seq,)).fetchone()
            assert row is not None
            self._check_unchanged(None if row["known"] is None else str(row["known"]))
            seq, prev_hash = (0, GENESIS_HASH) if row["seq"] is None else (int(row["seq"]), str(row["hash"]))
            recorded = self._recorded(db, records) if once else set()
            for record in records:
                key = (str(record.kind), canonical_json(list(record.subject)))
                if once:
                    if key in recorded:
                        continue
                    recorded.add(key)  # an entry appended here counts too
                seq += 1
                entry = seal(record, seq, time_s, prev_hash, signer)
                added.append(entry)
                prev_hash = entry.hash
            if added:
                with db.cursor() as cursor:  # one round trip (pipelined); fails as one statement
                    cursor.executemany(
                        f"INSERT INTO audit_log ({AUDIT_COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [audit_row(entry) for entry in added],
                    )
                last = (added[-1].seq, added[-1].hash)
                self.database.after_commit(lambda: setattr(self, "_known_head", last))
        return added

    @staticmethod
    def _recorded(db: Connection, records: Sequence[AuditRecord]) -> set[tuple[str, str]]:
        """The (kind, subject) of ``records`` that already have an entry in the chain: one query."""
        kinds = [str(r.kind) for r in records]
        subjects = [canonical_json(list(r.subject)) for r in records]
        rows = db.execute(
            "SELECT DISTINCT a.kind, a.subject FROM audit_log a "
            "JOIN unnest(%s::text[], %s::text[]) AS k(kind, subject) "
            "ON a.kind = k.kind AND a.subject = k.subject",
            (kinds, subjects),
        ).fetchall()
        return {(str(r["kind"]), str(r["subject"])) for r in rows}

    def head(self, time_s: float) -> Checkpoint:
        """The chain's last entry now (seq 0 and the genesis hash when empty), signed at ``time_s``."""
        signer = self._load_signer()
        with self.database.connection() as db:
            row = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, digest = (0, GENESIS_HASH) if row is None else (int(row["seq"]), str(row["hash"]))
        return sign_checkpoint(signer, seq, digest, time_s)

    def entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        with self.database.connection() as db:
            if limit is None:
                rows = db.execute(
                    f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > %s ORDER BY seq", (after_seq,)
                ).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > %s ORDER BY seq LIMIT %s",
                    (after_seq, limit),
                ).fetchall()
        return [audit_entry(r) for r in rows]
