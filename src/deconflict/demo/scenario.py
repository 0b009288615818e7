"""The built-in demo scenario: plans, flights and a hotline script over the Euphrates valley.

The scenario's content is data (``deconflict/data/demo_scenario.json``); this
module turns it into frozen objects and computes what depends on the start
time: the plans' GeoJSON (time windows relative to the start) and each
aircraft's state at any scenario time. Nothing here talks to a server (see
:mod:`deconflict.demo.driver`).

Flights fly closed paths of waypoints (the last leg returns to the first
waypoint; a path of two waypoints is flown out and back) at constant ground
speed and altitude, along geodesics. A flight with an ``operation`` stays
inside that operation's footprint and altitude band; a *stray* (no operation)
is timed to pass a given waypoint at a given time, where it meets a stray of
another party: the losses of separation the demo shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deconflict.geometry.geodesy import WGS84
from deconflict.strategic.conflicts import format_time
from deconflict.units import altitude_to_m

__all__ = [
    "ACTIONS",
    "Encounter",
    "Flight",
    "FlightStates",
    "PlannedOperation",
    "Scenario",
    "Step",
    "demo_overlays_path",
    "load_scenario",
]

Float = NDArray[np.float64]


@dataclass(frozen=True)
class PlannedOperation:
    """One party's planned operation: one volume whose window is relative to the demo's start.

    Attributes
    ----------
    party, id, priority
        Who files it, its id, its priority.
    area
        A place name for messages about it.
    polygon
        Footprint ring as (lon, lat) degrees (not closed), or empty for a circle.
    circle_centre, circle_radius_m
        The footprint when it is a circle.
    lower_fl, upper_fl
        Altitude band in flight levels.
    start_min, end_min
        Time window in minutes from the start (negative: already begun).
    amended_polygon
        The footprint of its amendment, when the script amends it.
    """

    party: str
    id: str
    priority: int
    area: str
    polygon: tuple[tuple[float, float], ...]
    circle_centre: tuple[float, float] | None
    circle_radius_m: float | None
    lower_fl: int
    upper_fl: int
    start_min: float
    end_min: float
    amended_polygon: tuple[tuple[float, float], ...] = ()

    def time_start_s(self, start_s: float) -> float:
        """Start of the window, seconds since the epoch, for a demo started at ``start_s``."""
        return start_s + 60.0 * self.start_min

    def time_end_s(self, start_s: float) -> float:
        """End of the window, seconds since the epoch."""
        return start_s + 60.0 * self.end_min

    def collection(self, start_s: float, amended: bool = False) -> dict[str, Any]:
        """The operation as a PRODUCT.md GeoJSON FeatureCollection (one volume).

        Parameters
        ----------
        start_s
            The demo's start, seconds since the epoch.
        amended
            The amended footprint instead of the original one.
        """
        ring = self.amended_polygon if amended else self.polygon
        properties: dict[str, Any] = {
            "id": f"{self.id}/v{2 if amended else 1}",
            "party": self.party,
            "operation": self.id,
            "altitude_lower": {"value": self.lower_fl, "units": "FL"},
            "altitude_upper": {"value": self.upper_fl, "units": "FL"},
            "time_start": format_time(self.time_start_s(start_s)),
            "time_end": format_time(self.time_end_s(start_s)),
            "priority": self.priority,
        }
        geometry: dict[str, Any]
        if ring:
            closed = [list(p) for p in ring] + [list(ring[0])]
            geometry = {"type": "Polygon", "coordinates": [closed]}
        else:
            assert self.circle_centre is not None
            geometry = {"type": "Point", "coordinates": list(self.circle_centre)}
            properties["radius_m"] = self.circle_radius_m
        return {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": geometry, "properties": properties}],
        }


@dataclass(frozen=True)
class FlightStates:
    """States of one flight at several scenario times (arrays of the same length).

    Longitudes and latitudes in degrees, altitude in metres, ground speed in
    m/s, track in degrees true (0-360), vertical speed in m/s.
    """

    lon_deg: Float
    lat_deg: Float
    alt_m: Float
    gs_mps: Float
    trk_deg: Float
    vs_mps: Float


@dataclass(frozen=True)
class Flight:
    """A synthetic aircraft flying a closed path at constant speed and altitude.

    Attributes
    ----------
    id, callsign, party
        Its id in its party's namespace, callsign and party.
    operation
        The operation it flies in, or ``None`` for a stray.
    gs_mps, alt_m
        Ground speed (m/s) and altitude (m, from the flight level).
    path
        Waypoints as (lon, lat) degrees; the path returns to the first.
    offset_m
        Distance along the path at scenario time 0.
    """

    id: str
    callsign: str
    party: str
    operation: str | None
    gs_mps: float
    alt_m: float
    path: tuple[tuple[float, float], ...]
    offset_m: float

    @property
    def is_stray(self) -> bool:
        """Whether it flies outside any plan (the demo's losses of separation)."""
        return self.operation is None

    def states(self, time_s: ArrayLike) -> FlightStates:
        """Its states at scenario times ``time_s`` (seconds since the demo's start)."""
        times = np.atleast_1d(np.asarray(time_s, dtype=np.float64))
        azimuths, lengths = _legs(self.path)
        ends = np.cumsum(lengths)
        along = np.mod(self.offset_m + self.gs_mps * times, ends[-1])
        leg = np.minimum(np.searchsorted(ends, along, side="right"), len(lengths) - 1)
        starts = ends[leg] - lengths[leg]
        origin = np.asarray(self.path, dtype=np.float64)[leg]
        lon, lat, back = WGS84.fwd(origin[:, 0], origin[:, 1], azimuths[leg], along - starts)
        lon_deg = np.asarray(lon, dtype=np.float64)
        trk_deg = np.mod(np.asarray(back, dtype=np.float64) + 180.0, 360.0)
        n = times.shape[0]
        return FlightStates(
            lon_deg,
            np.asarray(lat, dtype=np.float64),
            np.full(n, self.alt_m),
            np.full(n, self.gs_mps),
            trk_deg,
            np.zeros(n),
        )


def _legs(path: Sequence[tuple[float, float]]) -> tuple[Float, Float]:
    """Forward azimuths (degrees) and geodesic lengths (m) of the legs of a closed path."""
    points = np.asarray(path, dtype=np.float64)
    following = np.roll(points, -1, axis=0)
    azimuth, _, length = WGS84.inv(points[:, 0], points[:, 1], following[:, 0], following[:, 1])
    return np.asarray(azimuth, dtype=np.float64), np.asarray(length, dtype=np.float64)


@dataclass(frozen=True)
class Encounter:
    """Two strays of different parties timed to lose separation.

    Attributes
    ----------
    flights
        ``((party, id), (party, id))`` of the two aircraft.
    at_s
        Scenario time of their closest approach (seconds from the start).
    what
        What happens, for people.
    """

    flights: tuple[tuple[str, str], tuple[str, str]]
    at_s: float
    what: str


@dataclass(frozen=True)
class Step:
    """One scripted hotline action.

    Attributes
    ----------
    at_s
        Scenario time (seconds from the start) when it happens.
    party
        Who acts.
    action
        ``send``, ``read``, ``accept``, ``dispute``, ``amend``, ``ack_conflict``,
        ``accept_conflict``, ``report_incident`` or ``comment_incident``.
    args
        The action's arguments as in the data file (``to``, ``code``,
        ``params``, ``reply_by_s``, ``message``, ``label``, ``operation``,
        ``other_party``, ``reason``, ``comment``).
    """

    at_s: float
    party: str
    action: str
    args: Mapping[str, Any]


ACTIONS = frozenset(
    {
        "send",
        "read",
        "accept",
        "dispute",
        "amend",
        "ack_conflict",
        "accept_conflict",
        "report_incident",
        "comment_incident",
    }
)


@dataclass(frozen=True)
class Scenario:
    """The whole scenario: the line, the parties, their plans, flights and script."""

    line: tuple[tuple[float, float], ...]
    parties: Mapping[str, str]
    operations: tuple[PlannedOperation, ...]
    flights: tuple[Flight, ...]
    encounters: tuple[Encounter, ...]
    steps: tuple[Step, ...]

    def operation(self, operation_id: str) -> PlannedOperation:
        """The planned operation with this id."""
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise KeyError(operation_id)

    def fill(
        self, value: Any, start_s: float, versions: Mapping[str, int], message_ids: Mapping[str, int]
    ) -> Any:
        """``value`` (a script step's parameter) with its placeholders filled.

        ``"{op:ID:start}"`` and ``"{op:ID:end}"`` become the RFC 3339 ends of
        the operation's window, ``"{op:ID:version}"`` its current version (from
        ``versions``) and ``"{msg:LABEL}"`` the id of the message sent under that
        label (from ``message_ids``); dicts are filled value by value.

        Raises
        ------
        KeyError
            For an operation, version or label that is not known (yet).
        """
        if isinstance(value, Mapping):
            return {k: self.fill(v, start_s, versions, message_ids) for k, v in value.items()}
        if not (isinstance(value, str) and value.startswith("{") and value.endswith("}")):
            return value
        kind, _, rest = value[1:-1].partition(":")
        if kind == "msg":
            return message_ids[rest]
        if kind == "op":
            op_id, _, what = rest.rpartition(":")
            op = self.operation(op_id)
            if what == "version":
                return versions[op_id]
            if what in ("start", "end"):
                return format_time(op.time_start_s(start_s) if what == "start" else op.time_end_s(start_s))
        raise KeyError(f"unknown placeholder {value}")

    def flight(self, party: str, flight_id: str) -> Flight:
        """The flight with this party and id."""
        for flight in self.flights:
            if (flight.party, flight.id) == (party, flight_id):
                return flight
        raise KeyError((party, flight_id))


def _pairs(points: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    return tuple((float(p[0]), float(p[1])) for p in points)


def _operation(raw: Mapping[str, Any]) -> PlannedOperation:
    circle = raw.get("circle")
    return PlannedOperation(
        party=str(raw["party"]),
        id=str(raw["id"]),
        priority=int(raw["priority"]),
        area=str(raw["area"]),
        polygon=_pairs(raw.get("polygon", ())),
        circle_centre=None if circle is None else _pairs([circle["centre"]])[0],
        circle_radius_m=None if circle is None else float(circle["radius_m"]),
        lower_fl=int(raw["altitude_fl"][0]),
        upper_fl=int(raw["altitude_fl"][1]),
        start_min=float(raw["window_min"][0]),
        end_min=float(raw["window_min"][1]),
        amended_polygon=_pairs(raw.get("amended_polygon", ())),
    )


def _flight(raw: Mapping[str, Any]) -> Flight:
    path = _pairs(raw["path"])
    gs_mps = float(raw["gs_mps"])
    _, lengths = _legs(path)
    if "pass" in raw:
        # Timed: at scenario time at_s it is at that waypoint.
        waypoint = int(raw["pass"]["waypoint"])
        offset_m = float(np.sum(lengths[:waypoint])) - gs_mps * float(raw["pass"]["at_s"])
    else:
        offset_m = float(raw["phase"]) * float(np.sum(lengths))
    operation = raw.get("operation")
    return Flight(
        id=str(raw["id"]),
        callsign=str(raw["callsign"]),
        party=str(raw["party"]),
        operation=None if operation is None else str(operation),
        gs_mps=gs_mps,
        alt_m=altitude_to_m(float(raw["alt_fl"]), "FL"),
        path=path,
        offset_m=float(np.mod(offset_m, np.sum(lengths))),
    )


def demo_overlays_path() -> Path:
    """The demo's map overlays (``data/overlays/euphrates.geojson``): the scenario's deconfliction line,
    a restricted area, an airway and an FIR boundary, served to every party's page."""
    return Path(str(resources.files("deconflict").joinpath("data/overlays/euphrates.geojson")))


def load_scenario() -> Scenario:
    """The built-in scenario, from the package's ``data/demo_scenario.json``."""
    text = resources.files("deconflict").joinpath("data/demo_scenario.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    steps = tuple(
        Step(
            float(s["at_s"]),
            str(s["party"]),
            str(s["do"]),
            {k: v for k, v in s.items() if k not in ("at_s", "party", "do")},
        )
        for s in raw["script"]
    )
    unknown = sorted({s.action for s in steps} - ACTIONS)
    if unknown:
        raise ValueError(f"demo scenario: unknown script actions {unknown}")
    return Scenario(
        line=_pairs(raw["region"]["line"]),
        parties=dict(raw["parties"]),
        operations=tuple(_operation(o) for o in raw["operations"]),
        flights=tuple(_flight(f) for f in raw["flights"]),
        encounters=tuple(
            Encounter(
                (
                    (str(e["flights"][0][0]), str(e["flights"][0][1])),
                    (str(e["flights"][1][0]), str(e["flights"][1][1])),
                ),
                float(e["at_s"]),
                str(e["what"]),
            )
            for e in raw["strays"]
        ),
        steps=tuple(sorted(steps, key=lambda s: s.at_s)),
    )
