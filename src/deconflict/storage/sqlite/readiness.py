"""Whether a SQLite database file can serve: it answers, at the schema version this code writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from deconflict.storage.sqlite.migrations import LATEST_VERSION

__all__ = ["readiness_problem"]

_TIMEOUT_S = 2.0


def readiness_problem(path: Path | str) -> str | None:
    """Why the database at ``path`` cannot serve now, or ``None`` when it can.

    A fresh read-only connection runs a query (so a locked, missing or corrupt
    file is noticed, not just an open handle) and reads the schema version,
    which must be :data:`~deconflict.storage.sqlite.migrations.LATEST_VERSION`.
    An in-memory database lives in its stores' connections only: there is no
    file to check, and it is reported ready.

    Examples
    --------
    >>> readiness_problem(":memory:") is None
    True
    """
    text = str(path)
    if text == ":memory:":
        return None
    if not Path(text).is_file():
        return f"database {text}: no such file"
    try:
        db = sqlite3.connect(f"{Path(text).resolve().as_uri()}?mode=ro", uri=True, timeout=_TIMEOUT_S)
    except sqlite3.Error as exc:
        return f"database {text}: cannot open ({exc})"
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        return f"database {text}: does not answer ({exc})"
    finally:
        db.close()
    if version != LATEST_VERSION:
        return (
            f"database {text}: schema version {version}, this deconflict needs {LATEST_VERSION} "
            "(restart to migrate, or upgrade deconflict)"
        )
    return None
