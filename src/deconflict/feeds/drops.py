"""What a feed reader left out: counts per reason, and the first few examples with file, row and field."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from deconflict.errors import Problem
from deconflict.tactical.tracks import Tracks

__all__ = ["MAX_EXAMPLES", "Drops", "Reading"]

MAX_EXAMPLES = 20
"""Keep this many examples of dropped records: the first ones are what a user looks at first."""


@dataclass
class Drops:
    """Records a reader dropped, counted by reason; a live source keeps adding to them.

    Attributes
    ----------
    source
        The file or live source, for messages.
    counts
        How many records were dropped, per reason (e.g. ``bad_number``, ``no_velocity``).
    examples
        The first :data:`MAX_EXAMPLES` of them, each naming source, row and field.

    Examples
    --------
    >>> drops = Drops("capture.sbs")
    >>> drops.add("bad_number", 7, "lat_deg", "must be a number, got 'x'")
    >>> drops.add("garbage", 9)
    >>> drops.total, drops.summary()
    (2, 'bad_number 1, garbage 1')
    >>> str(drops.examples[0])
    "capture.sbs: row 7: lat_deg: bad_number: must be a number, got 'x'"
    """

    source: str
    counts: Counter[str] = field(default_factory=Counter)
    examples: list[Problem] = field(default_factory=list)

    def add(
        self,
        reason: str,
        row: int | None,
        column: str | None = None,
        message: str = "",
        *,
        record: str | None = None,
    ) -> None:
        """Count one dropped record; keep it as an example while there are fewer than the maximum.
        ``record`` names the record otherwise than by its row (e.g. ``"record at byte 812"``)."""
        self.counts[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            text = f"{reason}: {message}" if message else reason
            if record is None and row is not None:
                record = f"row {row}"
            self.examples.append(Problem(self.source, text, record, column))

    def add_many(self, reason: str, count: int) -> None:
        """Count ``count`` dropped records without examples (those were kept by :meth:`add`)."""
        if count:
            self.counts[reason] += count

    @property
    def total(self) -> int:
        """How many records were dropped in all."""
        return self.counts.total()

    def summary(self) -> str:
        """The counts as text, reasons in alphabetical order, e.g. ``"bad_time 2, garbage 5"``."""
        return ", ".join(f"{reason} {n:,}" for reason, n in sorted(self.counts.items()) if n)

    def log(self, logger: logging.Logger, read: int) -> None:
        """Log a one-line summary at info (an interface says it to its user its own way) and the
        first examples at debug."""
        dropped = f"{self.total:,} dropped ({self.summary()})" if self.total else "none dropped"
        logger.info("%s: %s records read, %s", self.source, f"{read:,}", dropped)
        for problem in self.examples:
            logger.debug("%s", problem)


@dataclass(frozen=True, eq=False)
class Reading:
    """What a reader made of a file: its states, what it dropped, how many records it read.

    Attributes
    ----------
    format
        The format's name in the registry (``csv``, ``sbs``, ``opensky``, ``beast``, ``asterix``).
    tracks
        The states, one row per report, with the file's row (line, or record) numbers.
    drops
        The records that gave no state, counted by reason.
    records
        How many records (non-blank lines, or JSON records) were read.
    """

    format: str
    tracks: Tracks
    drops: Drops
    records: int
