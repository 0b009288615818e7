"""Parties and token hashes in the same SQLite file as the operations (own connection)."""

from __future__ import annotations

import sqlite3

from deconflict.channel.parties import Party
from deconflict.errors import AlreadyExistsError, NotFoundError
from deconflict.storage.rows import PARTY_COLUMNS, party_from_row, party_with_previous_token
from deconflict.storage.sqlite.database import DatabaseStore

__all__ = ["SQLitePartyStore"]


class SQLitePartyStore(DatabaseStore):
    """The default :class:`~deconflict.channel.parties.PartyStore`.

    Parameters
    ----------
    path
        Database file (created if missing), usually the one of
        :class:`~deconflict.storage.sqlite.operations.SQLiteStore`, or ``":memory:"``.
    """

    def add_party(self, party: Party, token_sha256: str) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO parties (name, public_key_pem, token_sha256, created_s, revoked_s) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (party.name, party.public_key_pem, token_sha256, party.created_s, party.revoked_s),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExistsError(f"party {party.name!r} already exists") from exc

    def get_party(self, name: str) -> Party | None:
        with self._lock:
            row = self._db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE name = ?", (name,)).fetchone()
        return None if row is None else party_from_row(row)

    def party_for_token(self, token_sha256: str) -> tuple[Party, str] | None:
        # Every request asks: read what is committed, never behind a write transaction.
        with self.database.committed() as db:
            rows = db.execute(
                f"SELECT {PARTY_COLUMNS}, token_sha256 FROM parties WHERE token_sha256 = ?", (token_sha256,)
            ).fetchall()
        return (party_from_row(rows[0]), str(rows[0]["token_sha256"])) if rows else None

    def list_parties(self) -> list[Party]:
        with self._lock:
            rows = self._db.execute(f"SELECT {PARTY_COLUMNS} FROM parties ORDER BY name").fetchall()
        return [party_from_row(r) for r in rows]

    def revoke_party(self, name: str, revoked_s: float) -> Party:
        with self._lock:
            self._db.execute(
                "UPDATE parties SET revoked_s = ? WHERE name = ? AND revoked_s IS NULL", (revoked_s, name)
            )
            row = self._db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no party {name!r}")
        return party_from_row(row)

    def rotate_token(self, name: str, token_sha256: str, previous_until_s: float) -> Party:
        with self.database.transaction():
            self._db.execute(
                "UPDATE parties SET previous_token_sha256 = token_sha256, previous_token_until_s = ?, "
                "token_sha256 = ? WHERE name = ?",
                (previous_until_s, token_sha256, name),
            )
            row = self._db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no party {name!r}")
        return party_from_row(row)

    def party_for_previous_token(self, token_sha256: str) -> tuple[Party, str, float] | None:
        with self.database.committed() as db:
            rows = db.execute(
                f"SELECT {PARTY_COLUMNS}, previous_token_sha256, previous_token_until_s FROM parties "
                "WHERE previous_token_sha256 = ?",
                (token_sha256,),
            ).fetchall()
        if not rows:
            return None
        row = rows[0]
        return party_with_previous_token(row)
