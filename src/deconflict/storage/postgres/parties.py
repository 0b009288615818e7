"""Parties and token hashes in the PostgreSQL database."""

from __future__ import annotations

import psycopg

from deconflict.channel.parties import Party
from deconflict.errors import AlreadyExistsError, NotFoundError
from deconflict.storage.postgres.database import DatabaseStore
from deconflict.storage.rows import PARTY_COLUMNS, party_from_row, party_with_previous_token

__all__ = ["PostgresPartyStore"]


class PostgresPartyStore(DatabaseStore):
    """A :class:`~deconflict.channel.parties.PartyStore` in PostgreSQL.

    Parameters
    ----------
    url
        The database's libpq URL, or a :class:`~deconflict.storage.postgres.database.Database`
        to share with the other stores.
    """

    def add_party(self, party: Party, token_sha256: str) -> None:
        with self.database.transaction() as db:
            try:
                with db.transaction():  # a savepoint: a refused name leaves the caller's block usable
                    db.execute(
                        "INSERT INTO parties (name, public_key_pem, token_sha256, created_s, revoked_s) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        (party.name, party.public_key_pem, token_sha256, party.created_s, party.revoked_s),
                    )
            except psycopg.errors.UniqueViolation as exc:
                raise AlreadyExistsError(f"party {party.name!r} already exists") from exc

    def get_party(self, name: str) -> Party | None:
        with self.database.connection() as db:
            row = db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE name = %s", (name,)).fetchone()
        return None if row is None else party_from_row(row)

    def party_for_token(self, token_sha256: str) -> tuple[Party, str] | None:
        with self.database.connection() as db:
            row = db.execute(
                f"SELECT {PARTY_COLUMNS}, token_sha256 FROM parties WHERE token_sha256 = %s", (token_sha256,)
            ).fetchone()
        return None if row is None else (party_from_row(row), str(row["token_sha256"]))

    def list_parties(self) -> list[Party]:
        with self.database.connection() as db:
            rows = db.execute(f'SELECT {PARTY_COLUMNS} FROM parties ORDER BY name COLLATE "C"').fetchall()
        return [party_from_row(r) for r in rows]

    def revoke_party(self, name: str, revoked_s: float) -> Party:
        with self.database.transaction() as db:
            db.execute(
                "UPDATE parties SET revoked_s = %s WHERE name = %s AND revoked_s IS NULL", (revoked_s, name)
            )
            row = db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE name = %s", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no party {name!r}")
        return party_from_row(row)

    def rotate_token(self, name: str, token_sha256: str, previous_until_s: float) -> Party:
        with self.database.transaction() as db:
            db.execute(
                "UPDATE parties SET previous_token_sha256 = token_sha256, previous_token_until_s = %s, "
                "token_sha256 = %s WHERE name = %s",
                (previous_until_s, token_sha256, name),
            )
            row = db.execute(f"SELECT {PARTY_COLUMNS} FROM parties WHERE name = %s", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no party {name!r}")
        return party_from_row(row)

    def party_for_previous_token(self, token_sha256: str) -> tuple[Party, str, float] | None:
        with self.database.connection() as db:
            row = db.execute(
                f"SELECT {PARTY_COLUMNS}, previous_token_sha256, previous_token_until_s FROM parties "
                "WHERE previous_token_sha256 = %s",
                (token_sha256,),
            ).fetchone()
        if row is None:
            return None
        return party_with_previous_token(row)
