"""What the NOTAM writer and reader share: constants, the NOTAM read, positions as DMS text and back.

The reader's modules (:mod:`~deconflict.formats.notam.read`,
:mod:`~deconflict.formats.notam.schedule`) collect problems in one
:class:`deconflict.errors.Problems` per text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deconflict.strategic.volume import Volume

DEFAULT_FIR = "XXXX"
"""The FIR written when none is given: a placeholder the AIS office replaces (ICAO uses ``XX`` fillers)."""

DEFAULT_HORIZON_S = 90 * 86_400.0
"""How far after B a PERM NOTAM is read (90 days, the time PANS-AIM gives to put it in the AIP)."""

Q_CODES: dict[str, str] = {
    "QRTCA": "temporary restricted area activated (written: the operation's reservation)",
    "QRRCA": "restricted area activated",
    "QRDCA": "danger area activated",
    "QRPCA": "prohibited area activated",
    "QRTTT": "temporary restricted area",
    "QWULW": "unmanned aircraft flights",
    "QWMLW": "military exercises",
}
"""Q-codes deconflict names (Doc 8126): the one it writes and common ones it reads; any other is read too."""

_LAT_LON = re.compile(
    r"(?<![A-Z0-9.])(?:"
    r"(\d{2})(\d{2})(\d{2}(?:\.\d+)?)?([NS])\s?(\d{3})(\d{2})(\d{2}(?:\.\d+)?)?([EW])"
    r"|([NS])(\d{2})(\d{2})(\d{2}(?:\.\d+)?)?\s?([EW])(\d{3})(\d{2})(\d{2}(?:\.\d+)?)?"
    r")(?![A-Z0-9])"
)


@dataclass(frozen=True)
class NotamText:
    """A text read as NOTAMs (what :func:`deconflict.formats.load_document` gives for one)."""

    text: str


@dataclass(frozen=True)
class Notam:
    """One NOTAM read: its id, kind (``N`` new, ``R`` replacing, ``C`` cancelling) and volumes.

    ``refers_to`` is the NOTAM a NOTAMR replaces or a NOTAMC cancels; a NOTAMC has no volumes.
    """

    id: str
    kind: str
    refers_to: str | None
    volumes: tuple[Volume, ...]


def format_dms(lon_deg: float, lat_deg: float, *, seconds: bool = True) -> str:
    """A position as NOTAM text, ``ddmmssN dddmmssE`` (``ddmmN dddmmE`` without seconds), rounded to nearest.

    Examples
    --------
    >>> format_dms(1.5083, 45.2033)
    '451212N 0013030E'
    >>> format_dms(-70.5, -33.75, seconds=False)
    '3345S 07030W'
    """
    unit = 1 if seconds else 60
    parts = []
    for value, width, signs in ((lat_deg, 2, "NS"), (lon_deg, 3, "EW")):
        total = round(abs(value) * 3600.0 / unit) * unit
        degrees, rest = divmod(int(total), 3600)
        minutes, secs = divmod(rest, 60)
        text = f"{degrees:0{width}d}{minutes:02d}" + (f"{secs:02d}" if seconds else "")
        parts.append(text + (signs[1] if value < 0 and total else signs[0]))
    return " ".join(parts)


def _dms_value(text: str) -> tuple[float, float]:
    """(lon, lat) of one position written by :func:`format_dms` (as the reader reads it)."""
    match = _LAT_LON.search(text)
    assert match is not None, text
    position = _position(match)
    assert isinstance(position, tuple), position
    return position


def _position(match: re.Match[str]) -> tuple[float, float] | str:
    """(lon, lat) of a matched position, or what is wrong with it."""
    g = match.groups()
    if g[0] is not None:
        lat_parts, lat_sign, lon_parts, lon_sign = g[0:3], g[3], g[4:7], g[7]
    else:
        lat_sign, lat_parts, lon_sign, lon_parts = g[8], g[9:12], g[12], g[13:16]
    values = []
    for (deg, minutes, seconds), limit in ((lat_parts, 90), (lon_parts, 180)):
        m = int(minutes)
        s = float(seconds) if seconds else 0.0
        if m >= 60 or s >= 60.0:
            return f"position {match.group(0)!r}: minutes and seconds must be below 60"
        value = int(deg) + m / 60.0 + s / 3600.0
        if value > limit:
            return f"position {match.group(0)!r}: {value:g} degrees is beyond {limit}"
        values.append(value)
    lat = -values[0] if lat_sign == "S" else values[0]
    lon = -values[1] if lon_sign == "W" else values[1]
    return lon, lat


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 40 else text[:37] + "...")
