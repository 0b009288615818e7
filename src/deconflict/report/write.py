"""Writing a replay's report: the figures and the page, into a report folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deconflict.report.figures import (
    plan_figure,
    plot_window_s,
    profile_figure,
    save_png,
    timeline_figure,
    track_in_window,
)
from deconflict.report.folder import ReportFolder, write_error
from deconflict.report.page import incident_html, index_html
from deconflict.tactical.replay import ReplayReport, clean_tracks
from deconflict.tactical.tracks import Tracks

__all__ = ["MAX_INCIDENTS", "MAX_TIMELINE_PAIRS", "incident_order", "write_report"]

MAX_INCIDENTS = 50
"""Incident sections on the page by default (the closest ones)."""
MAX_TIMELINE_PAIRS = 40
"""Rows (aircraft pairs) in the timeline by default."""


def incident_order(report: ReplayReport, max_incidents: int = MAX_INCIDENTS) -> list[int]:
    """Indices into ``report.incidents`` of the incidents the report shows, in time order.

    The closest ``max_incidents`` by horizontal separation at their closest
    approach (ties: smaller vertical separation first).

    Raises
    ------
    ValueError
        ``max_incidents`` is negative.
    """
    if max_incidents < 0:
        raise ValueError(f"max_incidents must be >= 0, got {max_incidents}")
    incidents = report.incidents
    closest = sorted(
        range(len(incidents)),
        key=lambda k: (incidents[k].closest_horizontal.dist_m, incidents[k].closest_horizontal.dalt_m, k),
    )
    return sorted(closest[:max_incidents])


def write_report(
    report: ReplayReport,
    tracks: Tracks,
    directory: str | Path | ReportFolder,
    *,
    force: bool = False,
    max_incidents: int = MAX_INCIDENTS,
    max_timeline_pairs: int = MAX_TIMELINE_PAIRS,
    on_plot: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the HTML report of a replay (``index.html`` and PNG plots) into ``directory``.

    Parameters
    ----------
    report
        What :func:`~deconflict.tactical.replay.replay` returned for ``tracks``.
    tracks
        The tracks replayed; cleaned again with ``report.settings`` for the plots.
    directory
        The report folder, created with its parents; or a :class:`ReportFolder` opened
        before a long replay. Written atomically (see the module docstring).
    force
        Replace an existing folder (with a path for ``directory``).
    max_incidents
        Incident sections at most: the closest by horizontal separation, shown in
        time order and numbered as in ``report.incidents`` (1-based).
    max_timeline_pairs
        Rows of the timeline at most (incident pairs first, then the most urgent alerts).
    on_plot
        Called as ``on_plot(done, total)`` after each figure (progress display).

    Returns
    -------
    Path
        The path of ``index.html``.

    Raises
    ------
    InputError
        The folder exists (without ``force``), is a file, or cannot be created or written.
    ValueError
        ``max_incidents`` is negative or ``max_timeline_pairs`` is not positive.
    """
    if max_timeline_pairs < 1:
        raise ValueError(f"max_timeline_pairs must be >= 1, got {max_timeline_pairs}")
    shown = incident_order(report, max_incidents)
    folder = directory if isinstance(directory, ReportFolder) else ReportFolder.open(directory, force=force)
    try:
        _write(report, tracks, folder.partial, shown, max_timeline_pairs, on_plot)
        folder.commit()
    except OSError as exc:
        folder.discard()
        raise write_error(exc, folder.target) from exc
    except BaseException:  # an interrupt, too: no half-written report stays behind
        folder.discard()
        raise
    return folder.target / "index.html"


def _write(
    report: ReplayReport,
    tracks: Tracks,
    out: Path,
    shown: list[int],
    max_timeline_pairs: int,
    on_plot: Callable[[int, int], None] | None,
) -> Path:
    s = report.settings
    total = 1 + 2 * len(shown)
    figure, timeline_rows, timeline_pairs = timeline_figure(report, max_timeline_pairs)
    save_png(figure, out / "timeline.png")
    if on_plot is not None:
        on_plot(1, total)

    sections = []
    if shown:
        clean = clean_tracks(tracks, s)
        for k in shown:
            number = k + 1
            incident = report.incidents[k]
            lo_s, hi_s = plot_window_s(incident)
            track_a = track_in_window(clean, incident.a, lo_s, hi_s)
            track_b = track_in_window(clean, incident.b, lo_s, hi_s)
            plan = f"incident-{number:03d}-plan.png"
            profile = f"incident-{number:03d}-profile.png"
            save_png(
                plan_figure(number, incident, track_a, track_b, s.detection.rpz_m, s.stale_s), out / plan
            )
            save_png(profile_figure(number, incident, track_a, track_b, s.stale_s, s.step_s), out / profile)
            sections.append(incident_html(number, incident, s.step_s, plan, profile))
            if on_plot is not None:
                on_plot(1 + 2 * len(sections), total)

    index = out / "index.html"
    index.write_text(index_html(report, shown, sections, timeline_rows, timeline_pairs), encoding="utf-8")
    return index
