"""The report's folder, written whole or not at all (a hidden temporary sibling renamed into place)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deconflict.errors import InputError, Problem

__all__ = ["ReportFolder", "write_error"]


def write_error(exc: OSError, directory: Path) -> InputError:
    where = exc.filename if exc.filename is not None else directory
    return InputError([Problem(str(where), f"cannot write the report: {exc.strerror or exc}")])


@dataclass(frozen=True)
class ReportFolder:
    """A report folder being written: ``partial``, a hidden sibling of ``target``, renamed into place.

    Open it before a long replay to fail early (an existing folder, a file in the
    way, no permission); :func:`write_report` writes into ``partial``, then
    :meth:`commit` renames it to ``target``, or :meth:`discard` removes it.
    """

    target: Path
    partial: Path
    force: bool = False

    @staticmethod
    def check(directory: str | Path, *, force: bool = False) -> Path:
        """The target folder, if a report may be written there (nothing is created).

        Raises
        ------
        InputError
            The folder exists and ``force`` is false, or the path is a file.
        """
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise InputError([Problem(str(target), "cannot write the report: not a directory")])
        if target.exists() and not force:
            raise InputError(
                [Problem(str(target), "the report folder already exists; use --force to replace it")]
            )
        return target

    @classmethod
    def open(cls, directory: str | Path, *, force: bool = False) -> ReportFolder:
        """Check the target (see :meth:`check`), create its parents and the temporary folder.

        Raises
        ------
        InputError
            As :meth:`check`, or the folders cannot be created.
        """
        target = cls.check(directory, force=force)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
            mask = os.umask(0o022)
            os.umask(mask)
            partial.chmod(0o777 & ~mask)  # as a plain mkdir would (mkdtemp makes it private)
        except OSError as exc:
            raise write_error(exc, target) from exc
        return cls(target, partial, force)

    def commit(self) -> Path:
        """Rename the written folder into place, replacing an existing one when forced."""
        if self.target.exists() and self.force:
            aside = Path(
                tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=".old", dir=self.target.parent)
            )
            self.target.rename(aside / self.target.name)
            self.partial.rename(self.target)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            self.partial.rename(self.target)  # refused if a non-empty folder appeared meanwhile
        return self.target

    def discard(self) -> None:
        """Remove the temporary folder and whatever was written into it."""
        shutil.rmtree(self.partial, ignore_errors=True)
