"""The argument validators of the ``deconflict`` commands: each turns one bad value into argparse's
one-line error (exit 2), naming what was expected and what was given.
"""

from __future__ import annotations

import argparse
import math

__all__ = [
    "at_least_one",
    "bind",
    "non_negative",
    "port",
    "position",
    "positive",
    "positive_finite",
    "speed",
    "start_time",
    "whole_number",
]


def non_negative(text: str) -> float:
    """A finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = non_negative(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _integer(text: str, what: str) -> int:
    """``int(text)``, or the usage error "not WHAT: 'text'"."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def at_least_one(text: str) -> int:
    """A whole number >= 1 (``int()`` syntax: a sign and spaces are allowed)."""
    value = _integer(text, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def port(text: str) -> int:
    """A port number 0..65535 (0: any free port)."""
    value = _integer(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535 (0: any free port), got {text!r}")
    return value


def bind(text: str) -> str:
    """``HOST:PORT`` as :func:`~deconflict.config.parse_bind` reads it; kept as text."""
    from deconflict.config import parse_bind

    try:
        parse_bind(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def positive_finite(text: str) -> float:
    """A finite number > 0, refused with one message for every bad value (the feed's wording)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0.0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def whole_number(text: str) -> int:
    """A whole number >= 1 in plain digits (no sign, no spaces)."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def speed(text: str) -> float:
    """A speed-up factor: > 0 and at most 100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 100, got {text!r}")
    return value


def start_time(text: str) -> float:
    """A time as seconds since the epoch: a number, or an ISO 8601 date-time (UTC unless it
    says otherwise)."""
    from datetime import UTC, datetime

    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be seconds since the epoch or an ISO 8601 time (2024-05-01T12:00:00Z), got {text!r}"
            ) from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def position(text: str) -> tuple[float, float]:
    """``LAT,LON`` in degrees (latitude within [-90, 90], longitude within [-180, 180])."""
    parts = text.split(",")
    try:
        lat_deg, lon_deg = (float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be LAT,LON in degrees, got {text!r}") from None
    if not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
        raise argparse.ArgumentTypeError(
            f"must be a latitude within [-90, 90], longitude within [-180, 180], got {text!r}"
        )
    return lat_deg, lon_deg
