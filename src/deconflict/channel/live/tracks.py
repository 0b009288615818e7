"""The live picture's aircraft: posted states, own and foreign tracks, what a party sees."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "TRAIL_STEP_S",
    "Aircraft",
    "ForeignTrack",
    "Intake",
    "OwnTrack",
    "PartyPicture",
    "TrackState",
    "TrailPoint",
]

TRAIL_STEP_S = 5.0
"""A trail keeps at most one point per this many seconds (a 1 Hz feed would make trails heavy)."""


@dataclass(frozen=True)
class TrackState:
    """One posted state of one of a party's aircraft (SI units, time in seconds since the epoch).

    ``on_ground`` comes from the party's data (never from altitude alone): an
    aircraft on the ground is shown to its party but left out of detection.
    """

    id: str
    callsign: str
    time_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float
    on_ground: bool = False


@dataclass(frozen=True)
class Intake:
    """What became of a batch of posted states: how many were taken, and why the others were not."""

    accepted: int
    refused: dict[str, int]


@dataclass(frozen=True)
class TrailPoint:
    """A past position of an own aircraft."""

    time_s: float
    lon_deg: float
    lat_deg: float
    alt_m: float


@dataclass(frozen=True)
class OwnTrack:
    """One of the caller's aircraft: its latest accepted state and its recent trail (oldest first)."""

    state: TrackState
    trail: tuple[TrailPoint, ...]


@dataclass(frozen=True)
class ForeignTrack:
    """Another party's aircraft as the caller may see it: kinematics under a reference, no identity.

    ``ref`` is the id of the alert (``a-<n>``) or incident (``i-<id>``) that
    makes it visible; the state is its latest accepted one.
    """

    ref: str
    party: str
    time_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float


@dataclass(frozen=True)
class PartyPicture:
    """What one party sees at ``time_s``: its own tracks and the foreign ones it may see."""

    time_s: float
    own: tuple[OwnTrack, ...]
    foreign: tuple[ForeignTrack, ...]


@dataclass(frozen=True, order=True)
class Aircraft:
    """An aircraft: its party and the party's own id for it."""

    party: str
    id: str
