"""An HTML report of a replay for an analyst: summary, timeline, and plots of each incident.

Output, not domain: it reads what :mod:`deconflict.tactical.replay` found and writes files.
:mod:`~deconflict.report.figures` draws, :mod:`~deconflict.report.page` lays out the HTML,
:mod:`~deconflict.report.folder` writes the folder atomically, :mod:`~deconflict.report.write`
puts them together.

:func:`write_report` writes ``index.html`` and PNG files beside it into one
directory. The page needs no network: plain HTML with inline CSS and relative
image paths, so the directory can be zipped and mailed.

- **Summary**: the file replayed, its time span, aircraft, rows, alerts and incidents.
- **Timeline** (``timeline.png``): one row per aircraft pair, alerts as light
  bars and incidents as red bars over UTC time.
- **Per incident**: the facts (pair, start/end, closest horizontal and vertical
  separation with where and when), a plan view (``incident-NNN-plan.png``) of
  both aircraft's reported positions around the closest approach in a local
  east/north frame with the two closest-approach points joined and the
  separation annotated, and an altitude-time profile
  (``incident-NNN-profile.png``) with the 1000 ft band around aircraft A.

The plots show the **accepted** reports (:func:`~deconflict.tactical.replay.clean_tracks`
with the replay's own settings, so rejected altitude spikes do not reappear) and
lines are broken where an aircraft went unreported for longer than ``stale_s``:
nothing is interpolated across a gap. The closest-approach points are the
dead-reckoned positions the detector measured.

The folder appears whole or not at all: the report is written into a hidden
temporary sibling (``.NAME.*.partial``) and renamed into place at the end, so
an interrupted or failed run leaves no half-written report. An existing folder
is replaced only when asked (``force``).

A big replay stays bounded: at most ``max_incidents`` incident sections (the
closest by horizontal separation; the page says when it shows fewer than all)
and ``max_timeline_pairs`` rows in the timeline.
"""

from deconflict.report.figures import MAX_HALF_WINDOW_S, WINDOW_MARGIN_S
from deconflict.report.folder import ReportFolder
from deconflict.report.write import MAX_INCIDENTS, MAX_TIMELINE_PAIRS, incident_order, write_report

__all__ = [
    "MAX_HALF_WINDOW_S",
    "MAX_INCIDENTS",
    "MAX_TIMELINE_PAIRS",
    "WINDOW_MARGIN_S",
    "ReportFolder",
    "incident_order",
    "write_report",
]
