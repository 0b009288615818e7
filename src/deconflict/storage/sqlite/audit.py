"""The audit chain in the same SQLite file as the operations (own connection); the server key next to it.

The server's Ed25519 private key lives in a file next to the database,
``<db>.audit-key.pem``, mode 0600, created on the first append; the database
keeps only the public key (table ``audit_meta``). So a copy of the database
(a backup, a dump handed to an analyst) lets anyone verify the chain but not
forge a new one; losing the key file means the chain cannot be continued, and
the log refuses to append with any other key. A ``":memory:"`` database gets a
key that lives only as long as the log object.

Appending takes ``BEGIN IMMEDIATE`` on the database, so every process that
writes the file (the server, ``deconflict party``) extends one chain in turn.
Opened on a :class:`~deconflict.storage.sqlite.database.Database` shared with
the message store, the log offers ``transaction_with``: a message change and
its entries then commit in one transaction (the append becomes a savepoint).

A log notices a database replaced or rewritten under it (a restore, a copy
over the file, an edit): before each append it checks that the file is still
the one it opened (device and inode) and that the last entry it appended is
still in the chain with the same hash (others may only have added after it).
If not, it refuses this and every later append with
:class:`~deconflict.errors.StorageChangedError`: the server stops writing
rather than extend a chain that is not the one it signed.
"""

from __future__ import annotations

import contextlib
import os
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
from deconflict.channel.keys import generate_key_pair
from deconflict.channel.public_ids import PublicIds
from deconflict.errors import DeconflictError, StorageChangedError
from deconflict.storage.rows import AUDIT_COLUMNS, audit_entry, audit_row, chain_changed, create_key_file
from deconflict.storage.sqlite.database import Database, DatabaseStore
from deconflict.storage.sqlite.public_ids import load_public_ids

__all__ = ["SQLiteAuditLog", "audit_key_path"]


def audit_key_path(db_path: Path | str) -> Path:
    """Where the server's private audit key of a database file is kept: ``<db>.audit-key.pem``."""
    path = Path(db_path)
    return path.with_name(path.name + ".audit-key.pem")


def _file_identity(path: str) -> tuple[int, int] | None:
    """The file's device and inode (``None`` for ``":memory:"`` or a file that is gone)."""
    if path == ":memory:":
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


class SQLiteAuditLog(DatabaseStore):
    """The default :class:`~deconflict.channel.audit.AuditLog`.

    Parameters
    ----------
    path
        Database file (created if missing), usually the one of the other stores, or ``":memory:"``;
        or a :class:`~deconflict.storage.sqlite.database.Database` to share with the message store.
    key_path
        The server's private key file; :func:`audit_key_path` of ``path`` by default.
        It is read (or created) only when needed: a log opened to verify never creates one.
    """

    def __init__(self, path: Path | str | Database, key_path: Path | None = None) -> None:
        super().__init__(path)
        self.key_path = key_path if key_path is not None else audit_key_path(self.path)
        self._signer: AuditSigner | None = None
        self._public_ids: PublicIds | None = None
        self._identity = _file_identity(self.path)
        self._known_head: tuple[int, str] | None = None  # the last entry this log appended
        self._changed: str | None = None  # why appending stopped, once it has

    def _check_unchanged(self) -> None:
        """Raise if the file or the chain this log appended to was replaced under it (see the module)."""
        if self._changed is None and _file_identity(self.path) != self._identity:
            self._changed = f"{self.path} is no longer the file the server opened (replaced or moved)"
        if self._changed is None and self._known_head is not None:
            seq, digest = self._known_head
            row = self._db.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
            self._changed = chain_changed(self.path, seq, digest, None if row is None else str(row[0]))
        if self._changed is not None:
            raise StorageChangedError(f"{self._changed}; no more writes: restart the server")

    def transaction_with(self, *stores: object) -> AbstractContextManager[object]:
        """One transaction for the log and ``stores`` if they share its database, else no transaction.

        Stores opened on the same :class:`~deconflict.storage.sqlite.database.Database`
        (``deconflict.storage.open_storage`` does that) write on this log's connection:
        their change and the entries appended inside the block commit together.
        Any other store commits on its own, and the block adds nothing.
        """
        if stores and all(getattr(s, "database", None) is self.database for s in stores):
            return self.database.transaction()
        return contextlib.nullcontext()

    def stored_public_key(self) -> str | None:
        """The public key recorded in the database (that signed the chain), or ``None`` before any."""
        with self._lock:
            row = self._db.execute("SELECT value FROM audit_meta WHERE key = 'public_key_pem'").fetchone()
        return None if row is None else str(row[0])

    def _load_signer(self) -> AuditSigner:
        if self._signer is not None:
            return self._signer
        if self.path == ":memory:":
            signer = AuditSigner(generate_key_pair()[0])
        else:
            if not self.key_path.exists():
                if self.stored_public_key() is not None:
                    raise DeconflictError(
                        f"{self.key_path}: the server's audit key is missing, but {self.path} holds a chain "
                        "signed with it; restore the key file (no other key can continue the chain)"
                    )
                create_key_file(self.key_path)
            signer = AuditSigner(self.key_path.read_bytes(), source=str(self.key_path))
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('public_key_pem', ?)",
                (signer.public_key_pem,),
            )
            row = self._db.execute("SELECT value FROM audit_meta WHERE key = 'public_key_pem'").fetchone()
        if str(row[0]) != signer.public_key_pem:
            raise DeconflictError(
                f"{self.key_path}: this is not the key that signed the audit chain of {self.path}"
            )
        self._signer = signer
        return signer

    @property
    def public_ids(self) -> PublicIds:
        """The database's public ids (:mod:`deconflict.storage.sqlite.public_ids`), read once."""
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
        with self.database.transaction():  # a savepoint inside a caller's transaction
            self._check_unchanged()
            head = self._db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev_hash = (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))
            sealed: set[tuple[str, str]] = set()  # with ``once``: (kind, subject) of this batch's entries
            for record in records:
                if once:
                    key = (str(record.kind), canonical_json(list(record.subject)))
                    if (
                        key in sealed
                        or self._db.execute(
                            "SELECT 1 FROM audit_log WHERE kind = ? AND subject = ? LIMIT 1", key
                        ).fetchone()
                    ):
                        continue
                    sealed.add(key)
                seq += 1
                entry = seal(record, seq, time_s, prev_hash, signer)
                added.append(entry)
                prev_hash = entry.hash
            # One statement for the batch: a dense cycle opens thousands of incidents, each with its entry.
            self._db.executemany(
                f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [audit_row(entry) for entry in added],
            )
        if added:
            last = (added[-1].seq, added[-1].hash)
            self.database.after_commit(lambda: setattr(self, "_known_head", last))
        return added

    def head(self, time_s: float) -> Checkpoint:
        """The chain's last entry now (seq 0 and the genesis hash when empty), signed at ``time_s``."""
        signer = self._load_signer()
        with self._lock:
            row = self._db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, digest = (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))
        return sign_checkpoint(signer, seq, digest, time_s)

    def entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq"
        values: list[object] = [after_seq]
        if limit is not None:
            sql += " LIMIT ?"
            values.append(limit)
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [audit_entry(r) for r in rows]
