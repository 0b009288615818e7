"""Small builders shared by the tests: footprints, points, volumes, GeoJSON, message bodies, parties.

Plain functions with every value explicit, so a test reads as its scenario.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deconflict.channel.live import TrackState
from deconflict.channel.messages import MessageContent, sign_content
from deconflict.channel.parties import register_party, revoke_party
from deconflict.config import Settings
from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.geometry.geodesy import destination
from deconflict.geometry.overlap import footprints_conflict
from deconflict.storage import open_storage
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.volume import Volume
from deconflict.tactical.states import States, dead_reckon
from deconflict.units import Altitude, AltitudeReference

T0_S = 1_767_268_800.0
"""2026-01-01T12:00:00Z."""
T0_TEXT = "2026-01-01T12:00:00Z"

STATE_MOTION_FIELDS = frozenset({"time", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps"})
"""A track state's fields past its identity: in what POST /v1/tracks takes and GET /v1/tracks gives."""


def ring(*corners: tuple[float, float]) -> np.ndarray:
    """A closed (n + 1, 2) ring of (lon, lat) from its corners."""
    points = [*corners, corners[0]]
    return np.asarray(points, dtype=np.float64)


def box_ring(lon0: float, lat0: float, lon1: float, lat1: float) -> np.ndarray:
    return ring((lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1))


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> Footprint:
    """A lon/lat box footprint; ``lon1`` may be past 180 to cross the antimeridian."""
    return polygon_footprint([[box_ring(lon0, lat0, lon1, lat1)]])


def polygon(*corners: tuple[float, float]) -> Footprint:
    return polygon_footprint([[ring(*corners)]])


def circle(lon: float, lat: float, radius_m: float) -> Footprint:
    return circle_footprint(lon, lat, radius_m)


def point_at(lon: float, lat: float, azimuth_deg: float, distance_m: float) -> tuple[float, float]:
    """The (lon, lat) ``distance_m`` from (lon, lat) along ``azimuth_deg`` on the ellipsoid."""
    x, y = destination(lon, lat, azimuth_deg, distance_m)
    return float(x), float(y)


def conflicts_both_ways(a: Footprint, b: Footprint, buffer_m: float = 0.0) -> bool:
    """Whether ``a`` and ``b`` conflict, asserting that both orders give one boolean and agree."""
    ab = footprints_conflict([a], [b], buffer_m)
    ba = footprints_conflict([b], [a], buffer_m)
    assert ab.shape == (1,) and ab.dtype == bool
    assert ab[0] == ba[0], "footprints_conflict is not symmetric"
    return bool(ab[0])


def moved(s: TrackState, dt_s: float) -> TrackState:
    """``s`` flown straight on for ``dt_s`` (what a party's tracker would report then)."""
    one = States([s.lat_deg], [s.lon_deg], [s.alt_m], [s.gs_mps], [s.trk_deg], [s.vs_mps])
    m = dead_reckon(one, dt_s)
    return dataclasses.replace(
        s,
        time_s=s.time_s + dt_s,
        lat_deg=float(m.lat_deg[0]),
        lon_deg=float(m.lon_deg[0]),
        alt_m=float(m.alt_m[0]),
    )


def volume(
    volume_id: str,
    party: str,
    footprint: Footprint,
    *,
    start_s: float = T0_S,
    end_s: float = T0_S + 3600.0,
    lower_m: float = 0.0,
    upper_m: float = 1000.0,
    reference: str = "MSL",
    upper_reference: str | None = None,
    operation: str | None = None,
) -> Volume:
    """A volume; both altitude bounds use ``reference`` unless ``upper_reference`` is given."""
    return Volume(
        id=volume_id,
        party=party,
        operation=operation or volume_id,
        footprint=footprint,
        lower=Altitude(lower_m, AltitudeReference(reference)),
        upper=Altitude(upper_m, AltitudeReference(upper_reference or reference)),
        time_start_s=start_s,
        time_end_s=end_s,
    )


def conflict_pairs(conflicts: Iterable[Conflict]) -> set[frozenset[tuple[str, str]]]:
    """Each conflict as the unordered pair of its (party, volume id): what tests compare, order aside."""
    return {frozenset({(c.party_a, c.a), (c.party_b, c.b)}) for c in conflicts}


def altitude(value: float, units: str = "m", reference: str | None = "MSL") -> dict[str, Any]:
    spec: dict[str, Any] = {"value": value, "units": units}
    if reference is not None:
        spec["reference"] = reference
    return spec


def feature(
    volume_id: str | None = "v1",
    *,
    party: str | None = None,
    geometry: dict[str, Any] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A valid GeoJSON volume Feature; keyword arguments replace properties (None removes one)."""
    props: dict[str, Any] = {
        "id": volume_id,
        "party": party,
        "altitude_lower": altitude(0),
        "altitude_upper": altitude(1000),
        "time_start": T0_TEXT,
        "time_end": "2026-01-01T13:00:00Z",
    }
    props.update(properties)
    props = {k: v for k, v in props.items() if v is not None}
    if geometry is None:
        geometry = {"type": "Polygon", "coordinates": [box_ring(36.0, 35.0, 36.1, 35.1).tolist()]}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def polygon_geometry(*rings: np.ndarray | list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [np.asarray(r).tolist() for r in rings]}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def plan(operation_id: str, *features: dict[str, Any], priority: int = 0) -> dict[str, Any]:
    """A POST /v1/operations body: a FeatureCollection with the operation's id and priority."""
    return {**collection(*features), "id": operation_id, "priority": priority}


def box_feature(
    volume_id: str, lon0: float, lat0: float, lon1: float, lat1: float, **props: Any
) -> dict[str, Any]:
    """A volume Feature over a lon/lat box (0..1000 m MSL, 12:00-13:00 by default)."""
    return feature(volume_id, geometry=polygon_geometry(box_ring(lon0, lat0, lon1, lat1)), **props)


def write_geojson(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def message_body(content: MessageContent, signature: str) -> dict[str, Any]:
    """The POST /v1/messages body (a WebSocket ``send`` frame's message) of ``content`` and its signature."""
    return {
        "to": content.recipient,
        "code": content.code,
        "params": content.params,
        "text": content.text,
        "reply_by": content.reply_by,
        "nonce": content.nonce,
        "signature": signature,
    }


def signed_message_body(content: MessageContent, private_key_pem: bytes) -> dict[str, Any]:
    """:func:`message_body` with the signature of ``content`` by the sender's private key."""
    return message_body(content, sign_content(content, private_key_pem))


def register_parties(
    db: Path | Settings, *names: str, time_s: float = T0_S, revoked: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, bytes]]:
    """Register parties in a database file, or the one settings name (a server not started yet).

    Returns their tokens and private keys.

    The ``revoked`` ones (among ``names``) are revoked a second after ``time_s``.
    """
    with open_storage(db) as storage:
        registrations = {name: register_party(storage.parties, name, None, time_s) for name in names}
        for name in revoked:
            revoke_party(storage.parties, name, time_s + 1)
    tokens = {name: r.token for name, r in registrations.items()}
    keys = {name: r.private_key_pem for name, r in registrations.items() if r.private_key_pem is not None}
    return tokens, keys


def unpack_alerts(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``/v1/events`` frames with each coalesced ``alerts`` frame unpacked into one ``alert`` per change."""
    out: list[dict[str, Any]] = []
    for frame in frames:
        if frame["type"] == "alerts":
            out += [{"type": "alert", **change} for change in frame["changes"]]
        else:
            out.append(frame)
    return out
