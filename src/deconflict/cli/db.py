"""``deconflict db backup|restore``: consistent copies of the database.

The SQLite file is copied through SQLite's backup API
(:mod:`deconflict.storage.sqlite.backup`); a PostgreSQL database
(``--db postgresql://...`` or ``DECONFLICT_DB_URL``) is dumped with ``pg_dump``
and restored with ``pg_restore``, the dump checked before each use
(:mod:`deconflict.storage.postgres.backup`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from deconflict.cli.party import require_database
from deconflict.config import is_database_url, load_settings
from deconflict.storage.sqlite.backup import BackupSummary, backup_database, restore_database
from deconflict.storage.sqlite.retention import prune_backups, timestamped_backup_path

__all__ = ["run_db"]


def _print(console: Console, verb: str, summary: BackupSummary) -> None:
    counts = ", ".join(f"{n:,} {table}" for table, n in summary.rows.items())
    console.print(
        f"{verb} {summary.path} ({summary.bytes / 1e6:,.1f} MB in {summary.duration_s:.2f} s, "
        f"schema version {summary.schema_version}, integrity ok): {counts}"
    )


def _backup_target(args: argparse.Namespace, suffix: str = ".db") -> Path:
    """PATH, or with ``--keep`` a new timestamped file in the folder PATH."""
    if args.keep is None:
        return Path(args.path)
    return timestamped_backup_path(Path(args.path), time.time(), suffix)


def _prune(args: argparse.Namespace, console: Console) -> None:
    """With ``--keep N``: delete all but the N newest timestamped backups of the folder."""
    if args.keep is None:
        return
    for removed in prune_backups(Path(args.path), args.keep):
        console.print(f"removed {removed} (keeping the {args.keep} newest)", soft_wrap=True, markup=False)


def run_db(args: argparse.Namespace) -> int:
    """``deconflict db backup PATH`` / ``deconflict db restore PATH``."""
    settings = None if args.db else load_settings()
    url = args.db if is_database_url(args.db or "") else None
    if settings is not None and settings.db_url is not None:
        url = settings.db_url.get_secret_value()
    if url is not None:
        return _run_postgres(args, url)
    db = Path(args.db) if settings is None else settings.db_path
    console = Console()
    if args.db_command == "backup":
        require_database(db)
        _print(console, "backup written to", backup_database(db, _backup_target(args), overwrite=args.force))
        _prune(args, console)
    else:
        _print(console, "restored", restore_database(args.path, db, overwrite=args.force))
    return 0


def _run_postgres(args: argparse.Namespace, url: str) -> int:
    """``db backup|restore`` of a PostgreSQL database: ``pg_dump`` / ``pg_restore``, the dump checked."""
    from deconflict.storage.postgres.backup import DumpSummary, backup_postgres, restore_postgres

    def show(verb: str, summary: DumpSummary) -> None:
        audit = (
            ""
            if summary.audit_entries is None
            else f", audit chain verified ({summary.audit_entries} entries)"
        )
        console.print(
            f"{verb} {summary.path} ({summary.bytes / 1e6:,.1f} MB in {summary.duration_s:.2f} s, "
            f"schema version {summary.schema_version}, {len(summary.tables)} tables, dump checked{audit})",
            soft_wrap=True,
            markup=False,
        )

    console = Console()
    if args.db_command == "backup":
        show("backup written to", backup_postgres(url, _backup_target(args, ".dump"), overwrite=args.force))
        _prune(args, console)
    else:
        show("restored", restore_postgres(args.path, url, force=args.force))
    return 0
