"""The database's secret for public ids (:mod:`deconflict.channel.public_ids`): table ``public_id_secret``.

Created with the database (migration 12, as in SQLite's
:mod:`deconflict.storage.sqlite.public_ids`), so every node serving it shows
the same ids, and a ``pg_dump`` carries the secret with the rows it numbers.
"""

from __future__ import annotations

from deconflict.channel.public_ids import PublicIds
from deconflict.errors import DeconflictError
from deconflict.storage.postgres.database import Database

__all__ = ["load_public_ids", "public_ids_since_seq"]


def _row(database: Database) -> tuple[str, int]:
    with database.connection() as db:
        row = db.execute("SELECT secret, since_seq FROM public_id_secret").fetchone()
    if row is None:  # pragma: no cover - every migrated database has one
        raise DeconflictError(f"{database.where}: the database has no public id secret")
    return str(row["secret"]), int(row["since_seq"])


def load_public_ids(database: Database) -> PublicIds:
    """The public id permutations of a database."""
    return PublicIds(bytes.fromhex(_row(database)[0]))


def public_ids_since_seq(database: Database) -> int:
    """The first audit entry that names objects by public id (1 when the database had them from its start)."""
    return _row(database)[1]
