"""Backups on a schedule: timestamped names in one folder, and only the newest kept.

``deconflict db backup --keep N DIR`` writes ``DIR/deconflict-<UTC time>.db``
(with its audit key beside it, see :mod:`deconflict.storage.sqlite.backup`) and
then deletes all but the ``N`` newest such backups. Only files with exactly that
name pattern are ever deleted: anything else in the folder stays.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from deconflict.errors import InputError, Problem
from deconflict.storage.sqlite.audit import audit_key_path

__all__ = ["BACKUP_NAME", "prune_backups", "timestamped_backup_path"]

BACKUP_NAME = re.compile(r"deconflict-\d{8}T\d{6}\.\d{6}Z\.(?:db|dump)")
"""A timestamped backup's file name (``.db`` a SQLite copy, ``.dump`` a PostgreSQL dump); names sort
as the backups' times do."""


def timestamped_backup_path(folder: Path, now_s: float, suffix: str = ".db") -> Path:
    """``folder/deconflict-YYYYmmddTHHMMSS.ffffffZ.db`` (or ``suffix``) for the UTC time ``now_s``;
    makes ``folder`` (0700).

    The folder holds copies of the server's private audit key, so only its
    owner may read it.

    Raises
    ------
    InputError
        If ``folder`` cannot be made (a file of that name, no permission).

    Examples
    --------
    >>> timestamped_backup_path(Path("/tmp"), 1796443200.25).name
    'deconflict-20261205T040000.250000Z.db'
    """
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            [Problem(str(folder), f"cannot make the backup folder: {exc.strerror or exc}")]
        ) from exc
    when = datetime.datetime.fromtimestamp(now_s, datetime.UTC)
    return folder / f"deconflict-{when:%Y%m%dT%H%M%S.%f}Z{suffix}"


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest timestamped backups in ``folder`` (and their audit keys).

    Returns
    -------
    list of Path
        The backups deleted, oldest first.

    Raises
    ------
    ValueError
        If ``keep`` is below 1: the newest backup is never deleted.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    backups = sorted(p for p in folder.iterdir() if BACKUP_NAME.fullmatch(p.name) and p.is_file())
    doomed = backups[: max(len(backups) - keep, 0)]
    for path in doomed:
        audit_key_path(path).unlink(missing_ok=True)
        path.unlink()
    return doomed
