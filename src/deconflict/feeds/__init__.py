"""Surveillance feeds: track files, BaseStation (SBS-1) text, Beast binary, ASTERIX CAT021/CAT062,
OpenSky state vectors.

The registry: :func:`read_feed` reads a file in any of :data:`FORMATS`, detected from
its content (:func:`detect_format`) or named; every reader converts units at the edge
and returns a :class:`Reading` (the states as :class:`~deconflict.tactical.tracks.Tracks`,
and what it dropped, counted by reason). :mod:`deconflict.feeds.live` reads a live
BaseStation or Beast source over TCP, or ASTERIX over UDP.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from deconflict.errors import InputError, Problem
from deconflict.feeds.asterix import looks_like_asterix, read_asterix
from deconflict.feeds.beast import looks_like_beast, read_beast
from deconflict.feeds.drops import Drops, Reading
from deconflict.feeds.files import head_bytes, head_text
from deconflict.feeds.opensky import looks_like_opensky, looks_like_parquet, read_opensky
from deconflict.feeds.pcap import PCAPNG, is_pcap, udp_datagrams
from deconflict.feeds.sbs import FeedState, SbsAssembler, assemble_sbs, looks_like_sbs, read_sbs
from deconflict.tactical.tracks import Tracks, read_tracks

__all__ = [
    "FORMATS",
    "Drops",
    "FeedState",
    "Reading",
    "SbsAssembler",
    "assemble_sbs",
    "detect_format",
    "latest_states",
    "read_asterix",
    "read_beast",
    "read_feed",
    "read_opensky",
    "read_sbs",
]

logger = logging.getLogger(__name__)

FORMATS = ("csv", "sbs", "opensky", "beast", "asterix")
"""``csv``: the track CSV (:mod:`deconflict.tactical.tracks`); ``sbs``: BaseStation text
(:mod:`deconflict.feeds.sbs`); ``opensky``: OpenSky state vectors (:mod:`deconflict.feeds.opensky`);
``beast``: Beast binary (:mod:`deconflict.feeds.beast`); ``asterix``: ASTERIX CAT021/CAT062 data
blocks (:mod:`deconflict.feeds.asterix`)."""
ASTERIX_HEAD_BYTES = 1 << 17
"""Enough of a file to hold two ASTERIX data blocks (one is at most 65,535 bytes)."""


def detect_format(path: str | Path) -> str:
    """The format of a file from its first few kilobytes: ``beast``, ``asterix`` (data blocks, or a
    pcap capture of them), ``sbs``, ``opensky`` (also Parquet), else ``csv``.

    Raises
    ------
    InputError
        The file cannot be read.
    """
    if looks_like_beast(head_bytes(Path(path))):
        return "beast"
    blocks = head_bytes(Path(path), ASTERIX_HEAD_BYTES)
    if looks_like_parquet(blocks):  # the only Parquet we read: OpenSky's state_vectors_data4
        return "opensky"
    if looks_like_asterix(blocks, whole=len(blocks) < ASTERIX_HEAD_BYTES) or _asterix_capture(
        blocks, str(path)
    ):
        return "asterix"
    head = head_text(Path(path))
    if looks_like_sbs(head):
        return "sbs"
    if looks_like_opensky(head):
        return "opensky"
    return "csv"


def _asterix_capture(head: bytes, source: str) -> bool:
    """Whether data is a pcap capture whose first UDP datagram holds ASTERIX data blocks (a pcapng
    capture counts: the ASTERIX reader says how to convert it)."""
    if head[:4] == PCAPNG:
        return True
    if not is_pcap(head):
        return False
    found = udp_datagrams(head, source).datagrams
    return bool(found) and looks_like_asterix(found[0].payload, whole=True)


def read_feed(
    path: str | Path,
    format: str | None = None,
    *,
    require_time: bool = False,
    start_s: float = 0.0,
    reference: tuple[float, float] | None = None,
) -> Reading:
    """Read a file in one of :data:`FORMATS` (detected when ``format`` is ``None``).

    ``start_s`` and ``reference`` are for Beast captures (:func:`~deconflict.feeds.beast.read_beast`):
    the time of the first frame, and a position near the receiver for local CPR decoding;
    ``start_s`` also dates an ASTERIX recording's times of day
    (:func:`~deconflict.feeds.asterix.read_asterix`).

    A track CSV raises on any bad row (it is our own format, written on purpose); the
    receivers' formats drop bad records and count them in :attr:`Reading.drops`.

    Raises
    ------
    InputError
        The file cannot be read; an unknown format; a file with no record of the format
        (only garbage: another format); a track CSV with bad rows; a file
        without report times when ``require_time`` (the receivers' formats always have them).
    """
    path = Path(path)
    name = detect_format(path) if format is None else format
    if name == "csv":
        tracks = read_tracks(path, require_time=require_time)
        reading = Reading("csv", tracks, Drops(str(path)), len(tracks))
    elif name == "sbs":
        reading = read_sbs(path)
    elif name == "beast":
        reading = read_beast(path, start_s=start_s, reference=reference)
    elif name == "asterix":
        reading = read_asterix(path, start_s=start_s)
    elif name == "opensky":
        reading = read_opensky(path)
    else:
        raise InputError(
            [Problem(str(path), f"unknown format {name!r}; expected one of {', '.join(FORMATS)}")]
        )
    reading.drops.log(logger, reading.records)
    drops = reading.drops
    if reading.records and drops.counts["garbage"] == drops.total == reading.records:
        raise InputError([Problem(str(path), f"no {name} record in the file (another format? see --format)")])
    return reading


def latest_states(tracks: Tracks) -> Tracks:
    """Each aircraft's latest report (by time, then row): a snapshot of a recording.

    Examples
    --------
    >>> from deconflict.tactical.states import States
    >>> s = States([1.0, 2.0, 3.0], [0.0] * 3, [900.0] * 3, [100.0] * 3, [0.0] * 3, [0.0] * 3)
    >>> t = Tracks("f", np.array([1, 2, 3]), np.array(["a", "b", "a"]), np.array(["", "", ""]),
    ...            np.array([10.0, 10.0, 11.0]), s)
    >>> latest_states(t).row.tolist()
    [2, 3]
    """
    if len(tracks) == 0:
        return tracks
    time_s = tracks.time_s if tracks.time_s is not None else np.zeros(len(tracks))
    order = np.lexsort((tracks.row, time_s, tracks.ids))
    ids = tracks.ids[order]
    last = np.ones(ids.size, dtype=bool)
    last[:-1] = ids[1:] != ids[:-1]
    keep = np.sort(order[last])
    return Tracks(
        source=tracks.source,
        row=tracks.row[keep],
        ids=tracks.ids[keep],
        callsigns=tracks.callsigns[keep],
        time_s=None if tracks.time_s is None else tracks.time_s[keep],
        states=tracks.states.take(keep),
        on_ground=None if tracks.on_ground is None else tracks.on_ground[keep],
    )
