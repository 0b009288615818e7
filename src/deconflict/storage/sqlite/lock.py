"""Which process serves a database file: an exclusive advisory lock on ``<db>.lock``.

``deconflict serve`` holds the lock for as long as it runs; ``deconflict db
restore`` (and a backup written onto a served file) takes it too, so a restore
never replaces a database beneath a running server, and a server never starts
in the middle of a restore. Commands that write beside a running server
(``deconflict party``) do not take it: their writes go through SQLite's own
locking and extend the same audit chain.

The lock is ``fcntl.flock`` on a file created mode 0600 and never followed
through a symbolic link; the kernel releases it when the process ends, however
it ends, so a crashed server leaves no stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from deconflict.errors import DeconflictError

__all__ = ["ServerLock", "lock_path", "unserved"]


def lock_path(db_path: Path | str) -> Path:
    """The lock file of a database: ``<db>.lock``."""
    path = Path(db_path)
    return path.with_name(path.name + ".lock")


class ServerLock:
    """The exclusive lock of a database file, held until :meth:`release` (or the process ends).

    Parameters
    ----------
    db_path
        The database file.

    Raises
    ------
    DeconflictError
        If another process holds the lock, naming the database and the lock file;
        or if the lock file cannot be opened (a symbolic link is refused).
    """

    def __init__(self, db_path: Path | str) -> None:
        self.path = lock_path(db_path)
        try:
            self._fd: int | None = os.open(
                self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise DeconflictError(f"{self.path}: cannot open the lock file: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise DeconflictError(
                f"{db_path}: a running server holds this database (lock {self.path}); stop it first"
            ) from None

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def unserved(db_path: Path | str) -> Iterator[None]:
    """Hold the lock of ``db_path`` for the block: no server runs on it meanwhile, none starts.

    A file that does not exist yet (and has no lock file) needs no lock.

    Raises
    ------
    DeconflictError
        If a server holds the database.
    """
    if not Path(db_path).exists() and not lock_path(db_path).exists():
        yield
        return
    with ServerLock(db_path):
        yield
