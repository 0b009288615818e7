"""The live picture: every party's latest aircraft states, and the alerts and incidents between parties.

Parties post the states of their own aircraft (:meth:`LivePicture.post`); ids
are each party's own namespace, so two parties may both fly an ``"A1"``. Every
detection cycle (:meth:`LivePicture.cycle`) dead-reckons each aircraft's latest
state to the cycle time, leaves out states older than ``stale_s`` and aircraft
on the ground, runs the vectorised detector
(:func:`~deconflict.tactical.detect.detect`) over all parties at once, and
merges the pairs found into alerts and incidents:

- An **alert** is a predicted loss of separation between aircraft of two
  DIFFERENT parties within the look-ahead. Pairs of one party's own aircraft are
  that party's own business: the channel neither reports nor records them. An
  alert's level is ``loss`` (separation lost now), ``warning`` (loss predicted
  within ``warning_s``) or ``advisory`` (within the look-ahead). An alert not
  seen for more than ``alert_gap_s`` is cleared (predictions on noisy tracks
  flicker at the look-ahead boundary).
- A **non-conformance alert** is an aircraft of a party with live plans
  flying outside all of that party's active plans (beyond the margins); its
  owner sees it at once, and a party whose conflict-relevant space it is in
  sees where it is (:mod:`~deconflict.channel.live.conformance`).
- An **incident** is an actual loss of separation (both minima violated at
  once) between two parties' aircraft: opened at the first cycle in loss, its
  closest approach kept (smallest horizontal distance), closed at the first
  cycle the pair is separated again (or one of them is no longer tracked).

Cleaning follows :mod:`deconflict.tactical.replay` (its
:class:`~deconflict.tactical.replay.ReplaySettings` carry the same rules): a
state older than the aircraft's latest is ignored, one above ``max_alt_m`` or
whose altitude jumps faster than ``max_vs_mps`` allows
(:func:`~deconflict.tactical.tracks.altitude_jumps`, the replay's rule) is
rejected (the aircraft is dead-reckoned from its last good state and goes stale
if no good one follows), and the vertical minimum allows for altitude quantisation.

Disclosure
----------
A party sees its own aircraft always, with their trails. Of another party's
aircraft it sees only position, altitude and velocity, and only while that
aircraft is in an alert or an open incident with one of the party's own
aircraft, under a reference (the alert's or incident's id): never the other
aircraft's id, callsign or trail, and nothing of aircraft not in an alert with
it. Alerts and incidents are shown to each side from its own point of view
(:meth:`Alert.view_for`, :meth:`Incident.view_for`), and the figures that place
the other aircraft only while the party's own aircraft in the pair *vouches*
(plausible kinematics, past its probation, near its party's plans): see
:mod:`deconflict.channel.gating` for the gates and why. Aircraft on the ground
(``on_ground`` in the posted data) are left out of detection.

Work per cycle grows with the number of aircraft (vectorised) plus the number
of alerts, never with the number of pairs.
Modules: :mod:`~deconflict.channel.live.tracks` (posted states, the track table, what a party
sees), :mod:`~deconflict.channel.live.alerts`, :mod:`~deconflict.channel.live.conformance`,
:mod:`~deconflict.channel.live.incidents` (with their store),
:mod:`~deconflict.channel.live.settings` and
:mod:`~deconflict.channel.live.picture` (the engine and its cycle).
"""

from deconflict.channel.live.alerts import (
    Alert,
    AlertBatch,
    AlertKind,
    AlertLevel,
    AlertNotice,
    AlertState,
    AlertView,
    by_urgency,
)
from deconflict.channel.live.conformance import NonConformance, PlanVolumes, find_strays
from deconflict.channel.live.incidents import (
    MAX_COMMENT_CHARS,
    ClosestApproach,
    CommentNotice,
    Incident,
    IncidentBatch,
    IncidentComment,
    IncidentNotice,
    IncidentState,
    IncidentStore,
    IncidentView,
    TacticalHistory,
    new_comment,
)
from deconflict.channel.live.picture import CycleChanges, LivePicture, PictureState
from deconflict.channel.live.settings import ConformanceSettings, LiveSettings
from deconflict.channel.live.tracks import (
    TRAIL_STEP_S,
    Aircraft,
    ForeignTrack,
    Intake,
    OwnColumns,
    OwnTrack,
    PartyColumns,
    PartyPicture,
    StateColumns,
    TrackState,
    TrailPoint,
)

# The tactical package (the detector's compiled kernels) is imported where it is
# used, not at import: the channel's events and service name these types, and
# importing the channel domain must stay light (``deconflict check`` never loads numba).

__all__ = [
    "MAX_COMMENT_CHARS",
    "TRAIL_STEP_S",
    "Aircraft",
    "Alert",
    "AlertBatch",
    "AlertKind",
    "AlertLevel",
    "AlertNotice",
    "AlertState",
    "AlertView",
    "ClosestApproach",
    "CommentNotice",
    "ConformanceSettings",
    "CycleChanges",
    "ForeignTrack",
    "Incident",
    "IncidentBatch",
    "IncidentComment",
    "IncidentNotice",
    "IncidentState",
    "IncidentStore",
    "IncidentView",
    "Intake",
    "LivePicture",
    "LiveSettings",
    "NonConformance",
    "OwnColumns",
    "OwnTrack",
    "PartyColumns",
    "PartyPicture",
    "PictureState",
    "PlanVolumes",
    "StateColumns",
    "TacticalHistory",
    "TrackState",
    "TrailPoint",
    "by_urgency",
    "find_strays",
    "new_comment",
]
