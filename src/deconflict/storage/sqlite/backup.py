"""Online backup and restore of the embedded database.

Both use SQLite's backup API. A backup copies the whole database in one step
from a read transaction: in WAL mode writers are not blocked, and the copy is
the state of one instant (every commit before it, none after). The copy is
written next to the target, checked with ``PRAGMA integrity_check`` and only
then moved into place, so a failed backup never leaves a half-written file
under the target's name. A restore checks the backup the same way first, then
copies it *into* the target through SQLite (never by replacing the file under
a connection's feet), so the target's WAL stays consistent.

The server's private audit key lives beside the database
(:func:`~deconflict.storage.sqlite.audit.audit_key_path`); it travels with the
backup, mode 0600, because a restored server must go on signing the same chain.
Keep backups as secret as the database's key.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from deconflict.errors import DeconflictError
from deconflict.storage.sqlite.audit import audit_key_path

__all__ = ["BackupSummary", "backup_database", "restore_database"]

_COUNTED_TABLES = ("operations", "volumes", "conflicts", "parties", "messages", "audit_log")


@dataclass(frozen=True)
class BackupSummary:
    """What was copied: size, duration and row counts of the main tables."""

    path: Path
    bytes: int
    duration_s: float
    schema_version: str | None
    rows: dict[str, int]


def _check(db: sqlite3.Connection, path: Path) -> tuple[str | None, dict[str, int]]:
    """Integrity check and row counts; raises if the file is not a sound database."""
    try:
        result = [r[0] for r in db.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise DeconflictError(f"{path}: not a usable SQLite database: {exc}") from exc
    if result != ["ok"]:
        raise DeconflictError(f"{path}: integrity check failed: {'; '.join(result[:5])}")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        raise DeconflictError(f"{path}: not a deconflict database (no meta table)")
    # The migration version (PRAGMA user_version); files from before migrations have only meta's.
    migrated = int(db.execute("PRAGMA user_version").fetchone()[0])
    row = (
        (str(migrated),)
        if migrated
        else db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    )
    rows = {
        t: int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
        for t in _COUNTED_TABLES
        if t in tables
    }
    return (None if row is None else str(row[0])), rows


def backup_database(source: Path | str, target: Path | str, *, overwrite: bool = False) -> BackupSummary:
    """Copy a live database to ``target``, consistently, while others keep writing.

    Raises
    ------
    DeconflictError
        If the source is missing or unsound, or the target exists and
        ``overwrite`` is false.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise DeconflictError(f"{source}: no such database file")
    if target.exists() and not overwrite:
        raise DeconflictError(f"{target}: exists; choose another name or pass --force to overwrite it")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # a self-contained file, no -wal beside it
        version, rows = _check(dst, partial)
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    _copy_key(audit_key_path(source), audit_key_path(target))
    os.replace(partial, target)
    return BackupSummary(target, target.stat().st_size, time.perf_counter() - started, version, rows)


def _copy_key(source: Path, target: Path) -> None:
    """Copy a private key file, readable by its owner only, if there is one."""
    if not source.is_file():
        return
    partial = target.with_name(target.name + ".partial")
    with (
        open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out,
        source.open("rb") as src,
    ):
        shutil.copyfileobj(src, out)
    os.replace(partial, target)


def restore_database(backup: Path | str, target: Path | str, *, overwrite: bool = False) -> BackupSummary:
    """Replace the database at ``target`` by a checked backup.

    Stop the server first: a restore under a running server would pull its
    data from under it. The backup is checked before anything is written.
    """
    backup, target = Path(backup), Path(target)
    if not backup.is_file():
        raise DeconflictError(f"{backup}: no such backup file")
    if target.exists() and not overwrite:
        raise DeconflictError(
            f"{target}: exists; stop the server and pass --force to replace it with {backup}"
        )
    started = time.perf_counter()
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        _check(src, backup)
        dst = sqlite3.connect(target, timeout=30.0)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
            version, rows = _check(dst, target)
        finally:
            dst.close()
    finally:
        src.close()
    _copy_key(audit_key_path(backup), audit_key_path(target))
    return BackupSummary(target, target.stat().st_size, time.perf_counter() - started, version, rows)
