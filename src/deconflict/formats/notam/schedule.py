"""Item D of a NOTAM read: its schedule expanded into windows between items B and C."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from deconflict.errors import Problems
from deconflict.formats.notam.common import _shorten

_MONTHS = {name.upper(): index for index, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name.upper()[:3]: index for index, name in enumerate(calendar.day_abbr)}
_DAY_S = 86_400.0

_CLOCK = r"(\d{2})(\d{2})"
_D_DATE_SPAN = re.compile(rf"^([A-Z]{{3}})\s(\d{{2}})\s{_CLOCK}-([A-Z]{{3}})\s(\d{{2}})\s{_CLOCK}$")
_D_TIMES = re.compile(rf"{_CLOCK}-{_CLOCK}")
_D_DAY_RANGE = re.compile(r"^(\d{2})-(\d{2})$")
_D_WEEKDAY_RANGE = re.compile(r"^([A-Z]{3})-([A-Z]{3})$")


def _schedule_windows(
    c: Problems, text: str, start_s: float, end_s: float
) -> list[tuple[float, float]] | None:
    """Item D's windows between B and C (clipped to them), or None with the problem reported.

    Read: ``DAILY``/``DLY``/``H24`` or no day (every day), weekdays (``MON WED``,
    ``MON-FRI``), dates (``15 17 20``, ``08-12``, with months ``JAN 15-FEB 02``),
    each followed by one or more ``HHMM-HHMM`` (past midnight when the end is
    earlier), clauses separated by commas; and ``MMM DD HHMM-MMM DD HHMM``.
    Not read: sunrise and sunset (``SR``, ``SS``), ``EXC``, and anything else.
    """
    first = datetime.fromtimestamp(start_s, tz=UTC)
    last_day = datetime.fromtimestamp(end_s, tz=UTC).date()
    windows: list[tuple[float, float]] = []

    def day_of(month: int, day: int) -> datetime | None:
        year = first.year + (1 if month < first.month else 0)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None

    def fail(clause: str) -> None:
        c.add(
            "D)",
            f"cannot read the schedule {_shorten(clause)} (read: DAILY, weekdays, dates and "
            "HHMM-HHMM times; not sunrise/sunset or EXC)",
        )

    for raw in text.replace("\n", " ").split(","):
        clause = " ".join(raw.replace("BTN", " ").split())
        if not clause:
            continue
        span = _D_DATE_SPAN.match(clause)
        if span:
            m0, d0, h0, n0, m1, d1, h1, n1 = span.groups()
            a = day_of(_MONTHS.get(m0, 0), int(d0)) if m0 in _MONTHS else None
            b = day_of(_MONTHS.get(m1, 0), int(d1)) if m1 in _MONTHS else None
            if a is None or b is None:
                fail(clause)
                return None
            windows.append(
                (a.timestamp() + int(h0) * 3600 + int(n0) * 60, b.timestamp() + int(h1) * 3600 + int(n1) * 60)
            )
            continue
        times = [t for t in clause.split() if _D_TIMES.fullmatch(t)]
        tokens = [t for t in clause.split() if not _D_TIMES.fullmatch(t)]
        if not times:
            fail(clause)
            return None
        weekdays: set[int] = set()
        month: int | None = None
        dates: set[tuple[int, int]] = set()
        for token in tokens:
            if token in ("DAILY", "DLY", "H24"):
                continue
            if token in _MONTHS:
                month = _MONTHS[token]
            elif token in _WEEKDAYS:
                weekdays.add(_WEEKDAYS[token])
            elif (
                (wr := _D_WEEKDAY_RANGE.match(token))
                and wr.group(1) in _WEEKDAYS
                and wr.group(2) in _WEEKDAYS
            ):
                a_day, b_day = _WEEKDAYS[wr.group(1)], _WEEKDAYS[wr.group(2)]
                weekdays.update(
                    range(a_day, b_day + 1) if a_day <= b_day else [*range(a_day, 7), *range(b_day + 1)]
                )
            elif token.isdigit() and len(token) <= 2:
                dates.add((month or first.month, int(token)))
            elif dr := _D_DAY_RANGE.match(token):
                dates.update((month or first.month, d) for d in range(int(dr.group(1)), int(dr.group(2)) + 1))
            else:
                fail(clause)
                return None
        clocks = []
        for span_text in times:
            digits = span_text.replace("-", "")
            h0, n0, h1, n1 = (int(digits[i : i + 2]) for i in (0, 2, 4, 6))
            if h0 > 24 or h1 > 24 or n0 > 59 or n1 > 59:
                fail(clause)
                return None
            clocks.append((h0, n0, h1, n1))
        every_day = not (weekdays or dates)
        day = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(days=1)
        while day.date() <= last_day:
            if every_day or day.weekday() in weekdays or (day.month, day.day) in dates:
                for h0, n0, h1, n1 in clocks:
                    t0 = day.timestamp() + h0 * 3600 + n0 * 60
                    t1 = day.timestamp() + h1 * 3600 + n1 * 60
                    if t1 <= t0:
                        t1 += _DAY_S
                    windows.append((t0, t1))
            day += timedelta(days=1)
    clipped = sorted((max(a, start_s), min(b, end_s)) for a, b in windows if min(b, end_s) > max(a, start_s))
    if not clipped:
        c.add("D)", f"the schedule {_shorten(text)} has no window between B) and C)")
        return None
    return clipped
