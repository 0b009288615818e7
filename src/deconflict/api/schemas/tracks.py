"""Bodies of ``/v1/tracks``: states fed in, and the live picture as the caller may see it."""

from __future__ import annotations

import email.message
import math
from typing import Any

import msgspec
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from deconflict.channel.live import (
    ForeignTrack,
    Intake,
    OwnColumns,
    OwnTrack,
    PartyColumns,
    PartyPicture,
    StateColumns,
    TrackState,
)
from deconflict.channel.public_ids import PublicIds
from deconflict.errors import InputError, Problem
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.geojson import parse_datetime_s

__all__ = [
    "ForeignTrackOut",
    "OwnColumnsOut",
    "OwnTrackOut",
    "TrackStateIn",
    "TracksAcceptedOut",
    "TracksColumnsOut",
    "TracksIn",
    "TracksOut",
    "decode_track_columns",
]


class TrackStateIn(BaseModel):
    """One state of one of the caller's aircraft (ids are the caller's own namespace)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, description="the caller's id of the aircraft")
    callsign: str | None = Field(default=None, max_length=32)
    time: str = Field(description="RFC 3339 time of the state, e.g. 2026-11-26T05:40:00Z")
    lat_deg: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)
    lon_deg: float = Field(ge=-180.0, le=180.0, allow_inf_nan=False)
    alt_m: float = Field(ge=-2000.0, le=100_000.0, allow_inf_nan=False)
    gs_mps: float = Field(ge=0.0, le=2000.0, allow_inf_nan=False)
    trk_deg: float = Field(ge=0.0, le=360.0, allow_inf_nan=False)
    vs_mps: float = Field(ge=-500.0, le=500.0, allow_inf_nan=False)
    on_ground: bool = Field(
        default=False,
        description="on the ground, from the party's data (never inferred from altitude): not in detection",
    )


class TracksIn(BaseModel):
    """Body of ``POST /v1/tracks``."""

    model_config = ConfigDict(extra="forbid")

    states: list[TrackStateIn]

    def track_states(self, max_batch: int) -> list[TrackState]:
        """The states as domain values.

        Raises
        ------
        InputError
            More than ``max_batch`` states, or a time that is not RFC 3339 (``states[i].time``).
        """
        if len(self.states) > max_batch:
            message = f"{len(self.states)} states in one batch, at most {max_batch}"
            raise InputError([Problem("request", message, None, "states")])
        out: list[TrackState] = []
        problems: list[Problem] = []
        for i, s in enumerate(self.states):
            try:
                time_s = parse_datetime_s(s.time)
            except ValueError as exc:
                record = f"states[{i}] (id {s.id})"
                problems.append(
                    Problem("request", f"not an RFC 3339 time {s.time!r}: {exc}", record, f"states[{i}].time")
                )
                continue
            out.append(
                TrackState(
                    s.id,
                    s.callsign or "",
                    time_s,
                    s.lat_deg,
                    s.lon_deg,
                    s.alt_m,
                    s.gs_mps,
                    s.trk_deg,
                    s.vs_mps,
                    s.on_ground,
                )
            )
        if problems:
            raise InputError(problems[:20])
        return out


class _StateRow(msgspec.Struct, forbid_unknown_fields=True):
    """:class:`TrackStateIn`'s fields as msgspec decodes them (stricter types, no ranges)."""

    id: str
    time: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float
    callsign: str | None = None
    on_ground: bool = False


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    states: list[_StateRow]


_DECODER = msgspec.json.Decoder(_Batch)
_RANGES = {
    name: (
        next(m.ge for m in field.metadata if getattr(m, "ge", None) is not None),
        next(m.le for m in field.metadata if getattr(m, "le", None) is not None),
    )
    for name, field in TrackStateIn.model_fields.items()
    if name.endswith(("_deg", "_m", "_mps"))
}
"""Each number field's bounds, from :class:`TrackStateIn` (the one place they are written)."""


def _is_json(content_type: str | None) -> bool:
    """Whether the framework reads a body of ``content_type`` as JSON (``application/json``, ``+json``)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def decode_track_columns(body: bytes, content_type: str | None, max_batch: int) -> StateColumns | None:
    """The states of a ``POST /v1/tracks`` body as columns, when every one of them is good; else ``None``.

    The fast path of the route: one C decoder into light structs, the ranges
    and the times checked over columns, no per-state model. ``None`` when
    anything is off (a bad field, an extra one, a bad time, too many states,
    a body the framework would not read as JSON): the route then answers as
    :class:`TracksIn` does, with its errors naming the state and field.
    Times are parsed once per distinct text (a batch is mostly of one second).
    """
    if not _is_json(content_type):
        return None
    try:
        batch = _DECODER.decode(body)
    except msgspec.MsgspecError:
        return None
    rows = batch.states
    n = len(rows)
    if n > max_batch:
        return None
    ids = [r.id for r in rows]
    callsigns = [r.callsign or "" for r in rows]
    if any(not 1 <= len(i) <= 64 for i in ids) or any(len(c) > 32 for c in callsigns):
        return None
    columns: dict[str, Any] = {}
    for name, (low, high) in _RANGES.items():
        values = np.fromiter((getattr(r, name) for r in rows), np.float64, n)
        if not bool(np.all((values >= low) & (values <= high))):  # NaN and inf fail too
            return None
        columns[name] = values
    texts = [r.time for r in rows]
    seconds: dict[str, float] = {}
    try:
        for text in set(texts):
            seconds[text] = parse_datetime_s(text)
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in seconds.values()):
        return None
    return StateColumns(
        ids=ids,
        callsigns=callsigns,
        time_s=np.fromiter((seconds[t] for t in texts), np.float64, n),
        on_ground=np.fromiter((r.on_ground for r in rows), bool, n),
        **columns,
    )


class TracksAcceptedOut(BaseModel):
    """Answer of ``POST /v1/tracks``."""

    accepted: int = Field(description="states taken")
    refused: dict[str, int] = Field(
        default_factory=dict,
        description="states not taken, by reason: stale, older, altitude, altitude_jump, ground_speed, "
        "vertical_speed, acceleration, turn, position_jump (an implausible state restarts the aircraft's "
        "probation)",
        examples=[{"ground_speed": 560}],
    )

    @classmethod
    def of(cls, intake: Intake) -> TracksAcceptedOut:
        """The response body of a batch taken."""
        return cls(accepted=intake.accepted, refused=dict(sorted(intake.refused.items())))


class _StateOut(BaseModel):
    """An aircraft's state: where, how high, how fast, which way, when."""

    time: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float

    @staticmethod
    def fields_of(state: OwnTrack | ForeignTrack) -> dict[str, Any]:
        """The state fields of an own track (its latest state) or a foreign one."""
        s = state.state if isinstance(state, OwnTrack) else state
        return {
            "time": format_time(s.time_s),
            "lat_deg": s.lat_deg,
            "lon_deg": s.lon_deg,
            "alt_m": s.alt_m,
            "gs_mps": s.gs_mps,
            "trk_deg": s.trk_deg,
            "vs_mps": s.vs_mps,
        }


class OwnTrackOut(_StateOut):
    """One of the caller's aircraft, with its trail ``[[lon_deg, lat_deg, alt_m, time], ...]``."""

    id: str
    callsign: str
    trail: list[tuple[float, float, float, str]]

    @classmethod
    def of(cls, track: OwnTrack) -> OwnTrackOut:
        """The response body of an own track."""
        return cls(
            id=track.state.id,
            callsign=track.state.callsign,
            trail=[(p.lon_deg, p.lat_deg, p.alt_m, format_time(p.time_s)) for p in track.trail],
            **cls.fields_of(track),
        )


class ForeignTrackOut(_StateOut):
    """Another party's aircraft in an alert or open incident with one of the caller's: no id, no callsign."""

    ref: str = Field(description="the alert (a-<n>) or incident (i-<id>) that shows it")
    party: str

    @classmethod
    def of(cls, track: ForeignTrack, ids: PublicIds) -> ForeignTrackOut:
        """The response body of a foreign track (its ref with a public id)."""
        return cls(ref=ids.ref(track.ref), party=track.party, **cls.fields_of(track))


class TracksOut(BaseModel):
    """The live picture as the caller may see it."""

    time: str
    own: list[OwnTrackOut]
    foreign: list[ForeignTrackOut]

    @classmethod
    def of(cls, picture: PartyPicture, ids: PublicIds) -> TracksOut:
        """The response body of a party's picture."""
        return cls(
            time=format_time(picture.time_s),
            own=[OwnTrackOut.of(t) for t in picture.own],
            foreign=[ForeignTrackOut.of(t, ids) for t in picture.foreign],
        )


# Rounding of the columns: 1e-6 degree is about 0.1 m; a tenth of a metre, m/s or degree is below any
# sensor's precision. It keeps a fleet's columns about half the size of full doubles.
_DECIMALS = {"time_s": 2, "lat_deg": 6, "lon_deg": 6, "alt_m": 1, "gs_mps": 1, "trk_deg": 1, "vs_mps": 1}


class OwnColumnsOut(BaseModel):
    """The caller's aircraft as columns: item ``i`` of every list is aircraft ``i`` (by id)."""

    id: list[str]
    callsign: list[str] = Field(description='the latest callsign posted, "" when none')
    time_s: list[float] = Field(description="time of the latest state, seconds since the epoch")
    lat_deg: list[float]
    lon_deg: list[float]
    alt_m: list[float]
    gs_mps: list[float]
    trk_deg: list[float]
    vs_mps: list[float]

    @classmethod
    def of(cls, own: OwnColumns) -> OwnColumnsOut:
        """The response body of own columns (rounded as :data:`_DECIMALS` says)."""
        numbers = {name: own.columns[name].round(places).tolist() for name, places in _DECIMALS.items()}
        return cls(id=list(own.ids), callsign=list(own.callsigns), **numbers)


class TracksColumnsOut(BaseModel):
    """The live picture as the caller may see it, without trails and its own aircraft as columns."""

    time: str
    own: OwnColumnsOut
    foreign: list[ForeignTrackOut]

    @classmethod
    def of(cls, picture: PartyColumns, ids: PublicIds) -> TracksColumnsOut:
        """The response body of a party's picture as columns."""
        return cls(
            time=format_time(picture.time_s),
            own=OwnColumnsOut.of(picture.own),
            foreign=[ForeignTrackOut.of(t, ids) for t in picture.foreign],
        )
