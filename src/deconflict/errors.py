"""One exception hierarchy for deconflict.

Every error a user can cause carries the context needed to fix it: the file,
the record (feature index and id) and the field. The edges (CLI, API) turn these
exceptions into exit code 2 or an HTTP 4xx with the same message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "AlreadyExistsError",
    "AuditError",
    "AuthenticationError",
    "BlindSessionError",
    "DeconflictError",
    "InputError",
    "NotFoundError",
    "Problem",
    "Problems",
    "StaleVersionError",
    "StorageChangedError",
    "StorageUnavailableError",
    "TransitionError",
    "describe_value",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can.

    Parameters
    ----------
    source
        Where the input came from: a file path, or a name such as ``"request"``.
    message
        What is wrong, with the offending value.
    record
        The record, e.g. ``"feature 3 (id op-17/v1)"``; ``None`` for the whole input.
    field
        The field path inside the record, e.g. ``"altitude_lower.units"``.

    Examples
    --------
    >>> str(Problem("a.geojson", "must be a number, got 'x'", "feature 0", "priority"))
    "a.geojson: feature 0: priority: must be a number, got 'x'"
    """

    source: str
    message: str
    record: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.source]
        if self.record is not None:
            parts.append(self.record)
        if self.field is not None:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


@dataclass
class Problems:
    """The problems of one input as a reader finds them, each located by the current record.

    A reader sets :attr:`record` as it moves from record to record and calls
    :meth:`add` with the field; the edges raise :class:`InputError` with them all.

    Examples
    --------
    >>> found = Problems("a.geojson")
    >>> found.record = "feature 0"
    >>> found.add("priority", "must be a number, got 'x'")
    >>> [str(p) for p in found.problems]
    ["a.geojson: feature 0: priority: must be a number, got 'x'"]
    """

    source: str
    problems: list[Problem] = field(default_factory=list)
    record: str | None = None

    def add(self, field: str | None, message: str) -> None:
        """Note a problem of the current record's ``field`` (``None``: the record itself)."""
        self.problems.append(Problem(self.source, message, self.record, field))

    def number(self, field: str, value: object) -> float | None:
        """``value`` as a finite float, or ``None`` with a problem of ``field`` noted.

        >>> found = Problems("a.json")
        >>> found.number("lat", 1), found.number("lat", True), found.number("lat", 10**400)
        (1.0, None, None)
        >>> [p.message for p in found.problems]
        ['must be a number, got true', 'number out of range (401 digits)']
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(field, f"must be a number, got {describe_value(value)}")
            return None
        try:
            number = float(value)
        except OverflowError:
            self.add(field, f"number out of range ({len(str(value))} digits)")
            return None
        if not math.isfinite(number):
            self.add(field, f"must be a finite number, got {value!r}")
            return None
        return number


def describe_value(value: object) -> str:
    """A bad input value as an error message shows it: JSON where it can be, at most 40 characters.

    >>> describe_value("x" * 50)
    '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
    >>> describe_value(1e400), describe_value({1, 2})
    ('inf', '{1, 2}')
    """
    try:
        text = json.dumps(value) if not isinstance(value, float) else repr(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class DeconflictError(Exception):
    """Base class of every error deconflict raises on purpose."""


class InputError(DeconflictError):
    """Bad input: one or more problems, each naming file, record and field."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("InputError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))


class BlindSessionError(DeconflictError):
    """A blind session cannot go on: a message was altered, replayed, truncated or out of turn,
    a party's cover exceeds the agreed cap, or the parameters disagree.

    The session is over; it never yields "no conflicts". The message names the phase and
    the reason, never a cell, a coordinate or a volume.
    """


class NotFoundError(DeconflictError):
    """A named object (operation, party) does not exist for the caller."""


class AlreadyExistsError(DeconflictError):
    """A named object (a party) cannot be created because one of that name exists."""


class AuthenticationError(DeconflictError):
    """A credential is missing, malformed, unknown or revoked.

    The message never says which, to whom: the edge answers 401 the same way for all.
    """


class StaleVersionError(DeconflictError):
    """An update named a version that is no longer the current one.

    Attributes
    ----------
    operation_id, expected_version, current_version
        What the caller named and what is stored now (``None``: not stored).
    """

    def __init__(self, operation_id: str, expected_version: int | None, current_version: int | None) -> None:
        self.operation_id = operation_id
        self.expected_version = expected_version
        self.current_version = current_version
        if current_version is None:
            text = f"operation {operation_id!r} does not exist; file it without a version"
        elif expected_version is None:
            text = (
                f"operation {operation_id!r} already exists at version {current_version}; "
                f"an update must name the version it replaces"
            )
        else:
            text = (
                f"operation {operation_id!r} is at version {current_version}, "
                f"not {expected_version}: someone changed it since you read it; "
                f"reload and apply your change to version {current_version}"
            )
        super().__init__(text)


class StorageChangedError(DeconflictError):
    """The database was replaced or rewritten under a running server (a restore, an edit).

    The server stops writing to it: whatever it wrote next would extend a chain
    that is not the one it signed. Restart it on the file as it now is.
    """


class StorageUnavailableError(DeconflictError):
    """The database cannot be reached now: it is down or restarting, or no connection came in time.

    What was asked was not done; only when the connection broke during the
    commit itself is its outcome unknown, and the caller should look before
    doing it again. ``retry_after_s`` (whole seconds) is when to try again.
    """

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TransitionError(DeconflictError):
    """A state change that the object's current state does not allow (e.g. acknowledging backwards).

    Attributes
    ----------
    current
        The state the object is in now.
    """

    def __init__(self, message: str, current: str) -> None:
        self.current = current
        super().__init__(message)


class AuditError(DeconflictError):
    """The audit log (or a message it vouches for) fails verification.

    Attributes
    ----------
    seq
        The first bad entry's sequence number, if an entry is at fault.
    message_id
        The message at fault, if a message is.
    """

    def __init__(self, message: str, seq: int | None = None, message_id: int | None = None) -> None:
        self.seq = seq
        self.message_id = message_id
        super().__init__(message)
