"""The database's secret for public ids (:mod:`deconflict.channel.public_ids`): table ``public_id_secret``.

Created with the database (migration 12; an existing secret is never replaced),
so ids stay the same across restarts, and a backup or a restore carries it with
the rows it numbers. It lives in the database, not beside it as the audit key
does: it hides row ids from the parties, and whoever holds the database has the
row ids anyway. A ``":memory:"`` database gets a secret that lives as long as it does.
"""

from __future__ import annotations

from pathlib import Path

from deconflict.channel.public_ids import PublicIds
from deconflict.errors import DeconflictError
from deconflict.storage.sqlite.database import Database

__all__ = ["load_public_ids", "public_ids_since_seq"]


def _row(path: Path | str | Database) -> tuple[str, int]:
    database = path.acquire() if isinstance(path, Database) else Database(path)
    try:
        with database.lock:
            row = database.connection.execute("SELECT secret, since_seq FROM public_id_secret").fetchone()
    finally:
        database.close()
    if row is None:  # pragma: no cover - every migrated database has one
        raise DeconflictError(f"{database.path}: the database has no public id secret")
    return str(row[0]), int(row[1])


def load_public_ids(path: Path | str | Database) -> PublicIds:
    """The public id permutations of a database (a file, or an open :class:`Database`)."""
    return PublicIds(bytes.fromhex(_row(path)[0]))


def public_ids_since_seq(path: Path | str | Database) -> int:
    """The first audit entry that names objects by public id; those before it (older servers) name rows.

    1 for a database that had public ids from its start.
    """
    return _row(path)[1]
