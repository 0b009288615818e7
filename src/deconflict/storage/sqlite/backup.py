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

Files are written safely: every ``.partial`` file is created new (``O_EXCL``,
``O_NOFOLLOW``, mode 0600), so a planted symbolic link or a leftover partial
file is refused, never followed or reused; an existing key file is replaced
only when asked (``overwrite``). A restore, and a backup written onto a
database, hold the target's server lock (:mod:`~deconflict.storage.sqlite.lock`):
they are refused while a server runs on it.
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
from deconflict.storage.sqlite.connection import create_private_file
from deconflict.storage.sqlite.lock import unserved

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
    # The migration version (PRAGMA user_version); files from before migrations have only meta's.
    migrated = int(db.execute("PRAGMA user_version").fetchone()[0])
    if migrated:
        row: tuple[object, ...] | None = (str(migrated),)
    elif "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    else:
        raise DeconflictError(f"{path}: not a deconflict database (no schema version)")
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
    _check_folder(target)
    if target.exists() and not overwrite:
        raise DeconflictError(f"{target}: exists; choose another name or pass --force to overwrite it")
    key_source, key_target = audit_key_path(source), audit_key_path(target)
    if key_source.is_file() and key_target.exists() and not overwrite:
        raise DeconflictError(f"{key_target}: exists; pass --force to replace this audit key")
    with unserved(target):  # never a backup written over a database a server runs on
        partial = _new_partial(target)
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
        try:
            _copy_key(key_source, key_target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
    return BackupSummary(target, target.stat().st_size, time.perf_counter() - started, version, rows)


def _check_folder(target: Path) -> None:
    """Refuse a target whose folder is missing (or not a folder), with a clear error."""
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "no such folder"
        raise DeconflictError(f"{folder}: {what} (for {target.name}); create it first")


def _new_partial(target: Path) -> Path:
    """Create ``<target>.partial`` new, mode 0600; a leftover file or a symbolic link there is refused."""
    partial = target.with_name(target.name + ".partial")
    try:
        create_private_file(partial)
    except FileExistsError:
        raise DeconflictError(
            f"{partial}: exists (another backup or restore running, or left over): "
            "make sure none runs, then remove it"
        ) from None
    except OSError as exc:
        raise DeconflictError(f"{partial}: cannot create: {exc.strerror or exc}") from exc
    return partial


def _copy_key(source: Path, target: Path) -> None:
    """Copy a private key file, readable by its owner only, if there is one (through a new partial file)."""
    if not source.is_file():
        return
    partial = _new_partial(target)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_NOFOLLOW)
        with open(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def restore_database(backup: Path | str, target: Path | str, *, overwrite: bool = False) -> BackupSummary:
    """Replace the database at ``target`` by a checked backup.

    Stop the server first: a restore under a running server would pull its
    data from under it. The backup is checked before anything is written.
    """
    backup, target = Path(backup), Path(target)
    if not backup.is_file():
        raise DeconflictError(f"{backup}: no such backup file")
    _check_folder(target)
    if target.exists() and not overwrite:
        raise DeconflictError(
            f"{target}: exists; stop the server and pass --force to replace it with {backup}"
        )
    key_source, key_target = audit_key_path(backup), audit_key_path(target)
    if key_source.is_file() and key_target.exists() and not overwrite:
        raise DeconflictError(f"{key_target}: exists; pass --force to replace this audit key")
    with unserved(target):  # refused while a server runs on the target; none starts meanwhile
        started = time.perf_counter()
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            _check(src, backup)
            if not target.exists():
                create_private_file(target)
            dst = sqlite3.connect(target, timeout=30.0)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = WAL")
                version, rows = _check(dst, target)
            finally:
                dst.close()
        finally:
            src.close()
        _copy_key(key_source, key_target)
    return BackupSummary(target, target.stat().st_size, time.perf_counter() - started, version, rows)
