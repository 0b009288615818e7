"""The compiled (numba) scan of BaseStation bytes: one pass per line, no Python objects.

Each line of a buffer gets a status (:data:`OK`, :data:`SKIP`, :data:`BLANK`, or the
reason it is dropped), its transmission type, hex ident (as an integer; bit 24 set for
a ``~`` non-ICAO address), message time, the six numbers it carries (NaN where it does
not) and where its callsign is. Numbers are decimal (``[+-]digits[.digits][e[+-]digits]``);
those a double cannot take exactly from 15 digits and a power of ten are flagged for
Python's ``float`` (:data:`SLOW`), so every value is correctly rounded, as ``float``
would give it. :class:`~deconflict.feeds.sbs.SbsAssembler` is the reference it is tested
against.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["BLANK", "OK", "REASONS", "SKIP", "SLOW", "scan"]

OK, SKIP, BLANK = 0, 1, 2
GARBAGE, TRUNCATED, BAD_TYPE, BAD_IDENT, BAD_TIME, BAD_NUMBER, OUT_OF_RANGE = 3, 4, 5, 6, 7, 8, 9
REASONS = {
    GARBAGE: "garbage",
    TRUNCATED: "truncated",
    BAD_TYPE: "bad_type",
    BAD_IDENT: "bad_ident",
    BAD_TIME: "bad_time",
    BAD_NUMBER: "bad_number",
    OUT_OF_RANGE: "out_of_range",
}
NUMERIC_COLUMNS = np.array([11, 12, 13, 14, 15, 16], dtype=np.int64)  # alt, gs, trk, lat, lon, vr
# CARRIED[type, k]: whether transmission type ``type`` carries numeric column k
CARRIED = np.zeros((9, 6), dtype=np.bool_)
for _type in (2, 3, 5, 6, 7):
    CARRIED[_type, 0] = True
for _type in (2, 4):
    CARRIED[_type, 1] = CARRIED[_type, 2] = True
for _type in (2, 3):
    CARRIED[_type, 3] = CARRIED[_type, 4] = True
CARRIED[4, 5] = True
LOW = np.array([-np.inf, 0.0, 0.0, -90.0, -180.0, -np.inf])
HIGH = np.array([np.inf, np.inf, 360.0, 90.0, 180.0, np.inf])
SLOW = 2
"""``has[i, k] == SLOW``: the number is well formed but is parsed by Python (rare)."""
POW10 = np.array([10.0**k for k in range(23)])


def _is_space_py(c: int) -> bool:
    return c == 32 or (9 <= c <= 13)


def _days_from_civil_py(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days_py(year: int, month: int) -> int:
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


_is_space: Any = numba.njit(cache=True, inline="always")(_is_space_py)
_days_from_civil: Any = numba.njit(cache=True)(_days_from_civil_py)
_month_days: Any = numba.njit(cache=True)(_month_days_py)


def _date_s_py(buf: Any, s: int, e: int) -> float:
    """``YYYY/M[M]/D[D]`` as ``strptime("%Y/%m/%d")`` takes it, at 00:00 UTC; NaN if not one."""
    if e - s < 8:
        return np.nan
    for k in range(4):
        if not 48 <= buf[s + k] <= 57:
            return np.nan
    year = (buf[s] - 48) * 1000 + (buf[s + 1] - 48) * 100 + (buf[s + 2] - 48) * 10 + (buf[s + 3] - 48)
    if buf[s + 4] != 47:
        return np.nan
    p = s + 5
    month = 0
    digits = 0
    while p < e and 48 <= buf[p] <= 57 and digits < 2:
        month = month * 10 + buf[p] - 48
        p += 1
        digits += 1
    if digits == 0 or p >= e or buf[p] != 47:
        return np.nan
    p += 1
    day = 0
    digits = 0
    while p < e and 48 <= buf[p] <= 57 and digits < 2:
        day = day * 10 + buf[p] - 48
        p += 1
        digits += 1
    if digits == 0 or p != e or year < 1 or not 1 <= month <= 12 or not 1 <= day <= _month_days(year, month):
        return np.nan
    return float(_days_from_civil(year, month, day) * 86400.0)


def _clock_s_py(buf: Any, s: int, e: int) -> float:
    """``HH:MM:SS[.fff]``: seconds since midnight; NaN if not one."""
    if e - s < 8 or buf[s + 2] != 58 or buf[s + 5] != 58:
        return np.nan
    for k in (0, 1, 3, 4, 6, 7):
        if not 48 <= buf[s + k] <= 57:
            return np.nan
    hours = (buf[s] - 48) * 10 + buf[s + 1] - 48
    minutes = (buf[s + 3] - 48) * 10 + buf[s + 4] - 48
    whole = (buf[s + 6] - 48) * 10 + buf[s + 7] - 48
    seconds = float(whole)
    if e - s > 8:
        if buf[s + 8] != 46:
            return np.nan
        # as one decimal divided by a power of ten: correctly rounded, as float("SS.fff") is
        mantissa, places = whole, 0
        for p in range(s + 9, e):
            if not 48 <= buf[p] <= 57:
                return np.nan
            if places < 13:
                mantissa = mantissa * 10 + buf[p] - 48
                places += 1
        seconds = mantissa / POW10[places]
    if hours > 23 or minutes > 59 or seconds >= 61.0:
        return np.nan
    return float(hours * 3600.0 + minutes * 60.0 + seconds)


def _number_py(buf: Any, s: int, e: int, pow10: Any) -> tuple[int, float]:
    """Parse a decimal: (0 bad | 1 value | SLOW well formed but for Python, the value)."""
    p = s
    negative = False
    if p < e and (buf[p] == 43 or buf[p] == 45):
        negative = buf[p] == 45
        p += 1
    mantissa = 0
    digits = 0
    scale = 0
    any_digit = False
    while p < e and 48 <= buf[p] <= 57:
        if digits < 18:
            mantissa = mantissa * 10 + buf[p] - 48
            if mantissa:
                digits += 1
        else:
            scale += 1
        any_digit = True
        p += 1
    if p < e and buf[p] == 46:
        p += 1
        while p < e and 48 <= buf[p] <= 57:
            if digits < 18:
                mantissa = mantissa * 10 + buf[p] - 48
                if mantissa:
                    digits += 1
                scale -= 1
            any_digit = True
            p += 1
    if not any_digit:
        return 0, np.nan
    exponent = 0
    if p < e and (buf[p] == 101 or buf[p] == 69):
        p += 1
        exp_negative = False
        if p < e and (buf[p] == 43 or buf[p] == 45):
            exp_negative = buf[p] == 45
            p += 1
        if p >= e or not 48 <= buf[p] <= 57:
            return 0, np.nan
        while p < e and 48 <= buf[p] <= 57:
            if exponent < 100_000:
                exponent = exponent * 10 + buf[p] - 48
            p += 1
        if exp_negative:
            exponent = -exponent
    if p != e:
        return 0, np.nan
    scale += exponent
    if digits > 15 or scale > 22 or scale < -22:
        return SLOW, np.nan
    value = float(mantissa)
    value = value * pow10[scale] if scale >= 0 else value / pow10[-scale]
    return 1, -value if negative else value


_date_s: Any = numba.njit(cache=True)(_date_s_py)
_clock_s: Any = numba.njit(cache=True)(_clock_s_py)
_number: Any = numba.njit(cache=True)(_number_py)


def _scan_py(
    buf: NDArray[np.uint8],
    starts: NDArray[np.int64],
    ends: NDArray[np.int64],
    carried: NDArray[np.bool_],
    low: NDArray[np.float64],
    high: NDArray[np.float64],
    pow10: NDArray[np.float64],
) -> tuple[Any, ...]:
    n = starts.size
    status = np.zeros(n, dtype=np.int8)
    bad_field = np.full(n, -1, dtype=np.int8)
    msg_type = np.zeros(n, dtype=np.int8)
    ident = np.full(n, -1, dtype=np.int64)
    time_s = np.full(n, np.nan)
    values = np.full((n, 6), np.nan)
    has = np.zeros((n, 6), dtype=np.int8)
    callsign = np.zeros((n, 2), dtype=np.int64)
    ground = np.full(n, -1, dtype=np.int8)
    fs = np.zeros(23, dtype=np.int64)
    fe = np.zeros(23, dtype=np.int64)
    for i in range(n):
        s, e = starts[i], ends[i]
        while e > s and (buf[e - 1] == 13 or buf[e - 1] == 10):
            e -= 1
        blank = True
        for p in range(s, e):
            if not _is_space(buf[p]):
                blank = False
                break
        # fields (the first 22, and whether there are more)
        count = 0
        fs[0] = s
        for p in range(s, e):
            if buf[p] == 44:
                fe[count] = p
                count += 1
                if count == 22:
                    break
                fs[count] = p + 1
        if count < 22:
            fe[count] = e
            count += 1
        else:
            count = 22
        k0 = fe[0] - fs[0]
        first = buf[fs[0] : fe[0]]
        is_msg = k0 == 3 and first[0] == 77 and first[1] == 83 and first[2] == 71
        is_kind = is_msg
        if k0 == 3:
            is_kind = is_kind or (first[0] == 83 and first[1] == 69 and first[2] == 76)  # SEL
            is_kind = is_kind or (first[0] == 65 and first[1] == 73 and first[2] == 82)  # AIR
            is_kind = is_kind or (first[0] == 83 and first[1] == 84 and first[2] == 65)  # STA
            is_kind = is_kind or (first[0] == 67 and first[1] == 76 and first[2] == 75)  # CLK
        elif k0 == 2:
            is_kind = first[0] == 73 and first[1] == 68  # ID
        if not is_kind:
            status[i] = BLANK if blank else GARBAGE
            continue
        if count < 22:
            status[i] = TRUNCATED
            continue
        if not is_msg:
            status[i] = SKIP
            continue
        if fe[1] - fs[1] != 1 or not 49 <= buf[fs[1]] <= 56:
            status[i] = BAD_TYPE
            continue
        kind = buf[fs[1]] - 48
        msg_type[i] = kind
        # hex ident: optional ~, six hex digits
        p, q = fs[4], fe[4]
        flag = 0
        if q - p == 7 and buf[p] == 126:
            flag = 1 << 24
            p += 1
        if q - p != 6:
            status[i] = BAD_IDENT
            continue
        code = 0
        for r in range(p, q):
            c = buf[r]
            if 48 <= c <= 57:
                code = code * 16 + c - 48
            elif 97 <= c <= 102:
                code = code * 16 + c - 87
            elif 65 <= c <= 70:
                code = code * 16 + c - 55
            else:
                code = -1
                break
        if code < 0:
            status[i] = BAD_IDENT
            continue
        ident[i] = code | flag
        d, t = (6, 7) if (fe[6] > fs[6] or fe[7] > fs[7]) else (8, 9)
        when = _date_s(buf, fs[d], fe[d]) + _clock_s(buf, fs[t], fe[t])
        if np.isnan(when):
            status[i] = BAD_TIME
            continue
        time_s[i] = when
        for k in range(6):
            column = 11 + k
            if not carried[kind, k] or fe[column] == fs[column]:
                continue
            ok, value = _number(buf, fs[column], fe[column], pow10)
            if ok == 0:
                status[i] = BAD_NUMBER
                bad_field[i] = k
                break
            if ok == 1 and not low[k] <= value <= high[k]:
                status[i] = OUT_OF_RANGE
                bad_field[i] = k
                break
            has[i, k] = ok
            values[i, k] = value
        if status[i] != OK:
            continue
        callsign[i, 0], callsign[i, 1] = fs[10], fe[10]
        p, q = fs[21], fe[21]
        while p < q and _is_space(buf[p]):
            p += 1
        while q > p and _is_space(buf[q - 1]):
            q -= 1
        if q - p == 1 and buf[p] == 48:
            ground[i] = 0
        elif (q - p == 1 and buf[p] == 49) or (q - p == 2 and buf[p] == 45 and buf[p + 1] == 49):
            ground[i] = 1
    return status, bad_field, msg_type, ident, time_s, values, has, callsign, ground


scan_lines: Any = numba.njit(cache=True)(_scan_py)


def scan(buf: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]) -> tuple[Any, ...]:
    """Scan the lines ``buf[starts[i]:ends[i]]`` (see the module); arrays aligned with the lines.

    Compiled on first use (and cached on disk by numba).
    """
    return scan_lines(buf, starts, ends, CARRIED, LOW, HIGH, POW10)  # type: ignore[no-any-return]
