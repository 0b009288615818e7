"""``deconflict db backup|restore``: consistent copies of the embedded database."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from deconflict.config import load_settings
from deconflict.storage.sqlite.backup import BackupSummary, backup_database, restore_database

__all__ = ["run_db"]


def _print(console: Console, verb: str, summary: BackupSummary) -> None:
    counts = ", ".join(f"{n:,} {table}" for table, n in summary.rows.items())
    console.print(
        f"{verb} {summary.path} ({summary.bytes / 1e6:,.1f} MB in {summary.duration_s:.2f} s, "
        f"schema version {summary.schema_version}, integrity ok): {counts}"
    )


def run_db(args: argparse.Namespace) -> int:
    """``deconflict db backup PATH`` / ``deconflict db restore PATH``."""
    db = Path(args.db) if args.db else load_settings().db_path
    console = Console()
    if args.db_command == "backup":
        _print(console, "backup written to", backup_database(db, args.path, overwrite=args.force))
    else:
        _print(console, "restored", restore_database(args.path, db, overwrite=args.force))
    return 0
