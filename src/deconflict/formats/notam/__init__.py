"""ICAO NOTAM: an operation's airspace as the NOTAM an AIS office publishes, and NOTAMs read as volumes.

No maintained, permissively licensed NOTAM parser exists; this one is small and
table-driven, after the ICAO format (Annex 15, PANS-AIM, Doc 8126): a header
``A1234/26 NOTAMN`` (``NOTAMR A1233/26`` replaces, ``NOTAMC A1233/26``
cancels), a Q-line ``FIR/QCODE/TRAFFIC/PURPOSE/SCOPE/LOWER/UPPER/CENTRE+RADIUS``
and items A (FIR or aerodrome), B and C (``yyMMddHHmm`` UTC; C may be ``PERM``
or end in ``EST``), D (a schedule), E (free text), F and G (lower and upper limits).

Written (:func:`operation_notam`): one NOTAMN for an operation, every part of it
wider than the operation, never narrower:

- Q-line: the given FIR (default ``XXXX``, for the AIS office to replace), code
  ``QRTCA`` (see :data:`Q_CODES`: ``RT`` temporary restricted area, ``CA``
  activated), traffic ``IV`` (IFR and VFR), purpose ``BO`` (for operators'
  briefing and flight operations), scope ``W`` (navigation warning); lower and
  upper flight levels the widest pressure altitudes the operation's band can mean
  (:func:`deconflict.units.msl_bounds_m` and the altitude margins, floor and
  ceiling to 100 ft); a centre (to the minute) and radius (whole NM, rounded up)
  whose geodesic circle contains every volume.
- B and C: the first start (rounded down to the minute) and the last end
  (rounded up); D when the volumes' windows are several: ``DAILY HHMM-HHMM``
  when they are the same hours on consecutive days, else a list of windows.
- E: ``TEMPORARY RESTRICTED AREA ...`` and the area: the polygon of the
  volumes' footprints in ``ddmmssN dddmmssE`` (grown by a second of arc before
  rounding, so the rounded polygon contains them), or, when a volume is a
  circle or the footprints are not one polygon, ``RADIUS x NM CENTRE ...``.
- F and G: the lowest lower and highest upper limit in their own reference
  (``SFC``, ``nnnFT AGL``, ``nnnnFT AMSL``, ``FLnnn``; W84 heights as the widest
  AMSL they can mean; bounds of different references as the widest AMSL).

Read (:func:`parse_notams`): every NOTAM of a text (single or several; a
multi-part NOTAM's parts, ``PART n OF m``, joined), each as volumes: the area is
the polygons and circles of item E when it gives them (``PSN 4530N00130E - ...``,
``451230N 0012030E - ...``, ``N451230E0012030``; ``RADIUS 5KM CENTRE ...``), else
the Q-line's circle (also when E describes arcs, sectors, ellipses or corridors,
which are not read: the Q-line's circle covers them); the band is F and G
(``SFC``, ``GND``, ``UNL``, ``FLnnn``, ``nnnnFT``/``nnnM`` ``AMSL``/``AGL``), else
the Q-line's flight levels; the windows are B to C, or item D's schedule
expanded between them (a PERM NOTAM over ``horizon_s`` from B, default
:data:`DEFAULT_HORIZON_S`). A NOTAMC has no volumes: it and the NOTAM it cancels
(when in the same text) give none; a NOTAMR drops the NOTAM it replaces.
"""

from __future__ import annotations

from deconflict.formats.notam.common import (
    DEFAULT_FIR,
    DEFAULT_HORIZON_S,
    Q_CODES,
    Notam,
    NotamText,
    format_dms,
)
from deconflict.formats.notam.read import is_notam, notam_volumes, parse_notams
from deconflict.formats.notam.write import operation_notam, plan_notams

__all__ = [
    "DEFAULT_FIR",
    "DEFAULT_HORIZON_S",
    "Q_CODES",
    "Notam",
    "NotamText",
    "format_dms",
    "is_notam",
    "notam_volumes",
    "operation_notam",
    "parse_notams",
    "plan_notams",
]
