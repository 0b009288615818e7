"""How the domain's objects become table rows and back: one format for the SQLite and PostgreSQL stores.

Both backends keep the same columns (a test keeps their schemas from drifting
apart), so they share the encoders and decoders here: volumes as WKB shapes
and plain columns, their search boxes cut to :data:`PARTS_PER_VOLUME` per
volume (a batch's as one array of ``volume_index`` rows), conflicts as JSON
lists of their fields in field order, conflict lifecycles, audit entries,
disclosure ledger entries, incidents and blind relay sessions. A decoder takes
any mapping by column name (an ``sqlite3.Row`` or a psycopg dictionary row).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from deconflict.channel.audit import AuditEntry
from deconflict.channel.blind_relay import RelaySession, rate_error, rate_window_start
from deconflict.channel.conflicts import ConflictLifecycle, Resolution, Side
from deconflict.channel.deadlines import Escalation
from deconflict.channel.keys import generate_key_pair
from deconflict.channel.ledger import Disclosure, DisclosureKind, LedgerEntry
from deconflict.channel.live import Aircraft, Alert, ClosestApproach, Incident, IncidentComment
from deconflict.channel.messages import AckLevel, Message, MessageContent
from deconflict.channel.parties import Party
from deconflict.geometry.footprint import Footprint
from deconflict.strategic.conflicts import Conflict
from deconflict.strategic.volume import SearchBox, Volume, search_box_array, search_boxes_of
from deconflict.strategic.zones import (
    Applicability,
    DailyPeriod,
    Zone,
    ZoneAuthority,
    ZoneLayer,
    ZoneRestriction,
)
from deconflict.units import Altitude, AltitudeMargins, AltitudeReference

__all__ = [
    "AUDIT_COLUMNS",
    "DISCLOSURE_COLUMNS",
    "FEW_VOLUMES",
    "INCIDENT_COLUMNS",
    "LIFECYCLE_COLUMNS",
    "MESSAGE_COLUMNS",
    "NEW_MESSAGE_COLUMNS",
    "PARTS_PER_VOLUME",
    "PARTY_COLUMNS",
    "TIME_ORIGIN_S",
    "add_monthly_counts",
    "alert_log_row",
    "alert_number",
    "audit_entry",
    "audit_row",
    "below_bound",
    "box_array",
    "box_row",
    "chain_changed",
    "check_relay_rate",
    "closest_columns",
    "conflict_from_json",
    "conflict_to_json",
    "create_key_file",
    "disclosure_row",
    "escalation_from_row",
    "escalation_row",
    "incident_from_row",
    "incidents_from_rows",
    "index_box_rows",
    "index_boxes",
    "is_row_id",
    "ledger_entry_from_row",
    "lifecycle_from_row",
    "lifecycle_row",
    "message_from_row",
    "new_message_row",
    "pair_arguments",
    "party_from_row",
    "party_with_previous_token",
    "relay_session_from_rows",
    "relay_window_arguments",
    "volume_row",
    "volume_rows",
    "volumes_from_rows",
    "zone_from_json",
    "zone_to_json",
]

Row = Mapping[str, Any]
"""A row by column name: ``sqlite3.Row`` and psycopg's dictionary rows both are."""

TIME_ORIGIN_S = 1_577_836_800.0
"""2020-01-01T00:00:00Z: search boxes store time relative to it (small numbers keep float32 precise)."""

PARTS_PER_VOLUME = 64
"""The most search boxes a volume is indexed by; box ids are ``rowid * 64 + part``."""

LIFECYCLE_COLUMNS = (
    "conflict_id, party_a, party_b, acknowledged_a_s, acknowledged_b_s, accepted_a_s, accept_a_reason, "
    "accepted_b_s, accept_b_reason, resolution, resolved_by, resolved_s, facts"
)
"""The columns of ``conflict_states``, in the order :func:`lifecycle_row` gives them."""

INCIDENT_COLUMNS = (
    "id, party_a, aircraft_a, party_b, aircraft_b, started_s, ended_s, closest_time_s, "
    "closest_distance_m, closest_vertical_m, closest_lon_deg, closest_lat_deg, closest_alt_m, withheld"
)
"""The columns of ``incidents``, in the order :func:`opened_row` gives them."""

DISCLOSURE_COLUMNS = "subject, number, time_s, kind, recipient, subject_ref, fields, reason_ref, note"
"""The columns of ``disclosures``, in the order :func:`disclosure_row` gives them."""

_CONFLICT_FIELDS = tuple(f.name for f in fields(Conflict))


def is_row_id(value: int) -> bool:
    """Whether ``value`` fits a 64-bit INTEGER / BIGINT; a larger id names no row, it cannot be bound.

    >>> is_row_id(2**63 - 1), is_row_id(2**63)
    (True, False)
    """
    return -(2**63) <= value < 2**63


def below_bound(before: int | None) -> int:
    """The bound of an ``id < ?`` page: ``before``, or the largest row id when ``before`` is ``None``
    or no row id (:func:`is_row_id`).

    >>> below_bound(7), below_bound(None) == below_bound(2**70) == 2**63 - 1
    (7, True)
    """
    return before if before is not None and is_row_id(before) else 2**63 - 1


def index_boxes(boxes: list[SearchBox]) -> list[SearchBox]:
    """At most :data:`PARTS_PER_VOLUME` boxes; the surplus merged into the last (a superset)."""
    if len(boxes) <= PARTS_PER_VOLUME:
        return boxes
    keep, rest = boxes[: PARTS_PER_VOLUME - 1], boxes[PARTS_PER_VOLUME - 1 :]
    merged = SearchBox(
        min(b.lon_min_deg for b in rest),
        min(b.lat_min_deg for b in rest),
        max(b.lon_max_deg for b in rest),
        max(b.lat_max_deg for b in rest),
        min(b.alt_min_m for b in rest),
        max(b.alt_max_m for b in rest),
        min(b.time_min_s for b in rest),
        max(b.time_max_s for b in rest),
    )
    return [*keep, merged]


def box_array(boxes: Sequence[SearchBox]) -> NDArray[np.float64]:
    """Boxes as rows of ``volume_index``'s columns: lon0, lon1, lat0, lat1, alt0, alt1, t0, t1.

    Times are seconds since 2020 (:data:`TIME_ORIGIN_S`).

    >>> box_array([SearchBox(1.0, 2.0, 3.0, 4.0, 0.0, 100.0, TIME_ORIGIN_S, TIME_ORIGIN_S + 60.0)]).tolist()
    [[1.0, 3.0, 2.0, 4.0, 0.0, 100.0, 0.0, 60.0]]
    """
    return np.array([box_row(b) for b in boxes], dtype=np.float64).reshape(-1, 8)


def box_row(b: SearchBox) -> list[float]:
    """A box as a row of ``volume_index``'s columns (:func:`box_array`'s)."""
    return [
        b.lon_min_deg,
        b.lon_max_deg,
        b.lat_min_deg,
        b.lat_max_deg,
        b.alt_min_m,
        b.alt_max_m,
        b.time_min_s - TIME_ORIGIN_S,
        b.time_max_s - TIME_ORIGIN_S,
    ]


FEW_VOLUMES = 12
"""Up to this many volumes are boxed one by one (:func:`index_box_rows`), more over arrays."""


def index_box_rows(
    volumes: Sequence[Volume], live: Sequence[bool], margins: AltitudeMargins
) -> tuple[list[int], list[list[float]]]:
    """The boxes of the volumes ``live`` as ``volume_index`` rows (:func:`box_array`'s columns), and
    each box's volume (its position in ``volumes``, ascending, a volume's boxes in the order of its
    parts); at most :data:`PARTS_PER_VOLUME` a volume (:func:`index_boxes`).

    A filing's few volumes are boxed one by one (:func:`search_boxes_of`); many, over arrays
    (:func:`search_box_array`, the same values), whose fixed cost is that of about a dozen
    volumes boxed one by one.
    """
    positions = [k for k, is_live in enumerate(live) if is_live]
    indexed = [volumes[k] for k in positions]
    if len(indexed) > FEW_VOLUMES:
        owners, found = search_box_array(indexed, margins)
        if not owners.size or int(np.bincount(owners).max()) <= PARTS_PER_VOLUME:
            boxes = found[:, [0, 2, 1, 3, 4, 5, 6, 7]]
            boxes[:, 6:] -= TIME_ORIGIN_S
            return np.array(positions, np.int64)[owners].tolist(), boxes.tolist()
    groups = [index_boxes(boxes) for boxes in search_boxes_of(indexed, margins)]
    owners_of_boxes = [k for k, group in zip(positions, groups, strict=True) for _ in group]
    return owners_of_boxes, [box_row(b) for group in groups for b in group]


def volume_row(volume: Volume) -> tuple[Any, ...]:
    """A volume's column values, ``party`` to ``inner_wkb`` (shapes as WKB; circles keep all three)."""
    return volume_rows([volume])[0]


def volume_rows(volumes: Sequence[Volume]) -> list[tuple[Any, ...]]:
    """:func:`volume_row` of each volume; the shapes in one call (shapely's per-call cost dominates)."""
    shapes = []
    for volume in volumes:
        fp = volume.footprint
        shapes += [fp.shape, fp.outer if fp.is_circle else None, fp.inner if fp.is_circle else None]
    wkb = shapely.to_wkb(shapes).tolist()
    return [
        (
            volume.party,
            volume.operation,
            volume.id,
            volume.priority,
            volume.lower.value_m,
            str(volume.lower.reference),
            volume.upper.value_m,
            str(volume.upper.reference),
            volume.time_start_s,
            volume.time_end_s,
            volume.footprint.centre_lon_deg,
            volume.footprint.centre_lat_deg,
            volume.footprint.radius_m,
            *wkb[3 * k : 3 * k + 3],
        )
        for k, volume in enumerate(volumes)
    ]


_REFERENCES = {str(reference): reference for reference in AltitudeReference}


def _reference(text: str) -> AltitudeReference:
    """The reference named ``text`` (a dictionary look-up: calling the enum costs more than a filing's
    search); an unknown name raises as the enum does."""
    return _REFERENCES.get(text) or AltitudeReference(text)


def volumes_from_rows(rows: Sequence[Row]) -> list[Volume]:
    """The volumes of rows with :func:`volume_row`'s columns, by name (shapes decoded in one call)."""
    if not rows:
        return []
    shapes = shapely.from_wkb([r["shape_wkb"] for r in rows])
    outers = shapely.from_wkb([r["outer_wkb"] for r in rows])
    inners = shapely.from_wkb([r["inner_wkb"] for r in rows])
    volumes = []
    for k, r in enumerate(rows):
        circle = r["radius_m"] is not None
        fp = Footprint(
            shape=shapes[k],
            outer=outers[k] if circle else shapes[k],
            inner=inners[k] if circle else shapes[k],
            centre_lon_deg=r["centre_lon_deg"],
            centre_lat_deg=r["centre_lat_deg"],
            radius_m=r["radius_m"],
        )
        volumes.append(
            Volume(
                id=r["volume_id"],
                party=r["party"],
                operation=r["operation_id"],
                footprint=fp,
                lower=Altitude(r["lower_m"], _reference(r["lower_ref"])),
                upper=Altitude(r["upper_m"], _reference(r["upper_ref"])),
                time_start_s=r["time_start_s"],
                time_end_s=r["time_end_s"],
                priority=r["priority"],
            )
        )
    return volumes


def conflict_from_json(text: str) -> Conflict:
    """A conflict from its JSON list of fields; rows written before a field was added keep its default."""
    data = dict(zip(_CONFLICT_FIELDS, json.loads(text), strict=False))
    data["overlap_bbox"] = tuple(data["overlap_bbox"])
    return Conflict(**data)


def conflict_to_json(conflict: Conflict) -> str:
    """A conflict as a JSON list of its fields in field order.

    >>> c = Conflict("a", "b", "p", "q", "o1", "o2", 0.0, 60.0, 0.0, 100.0, "MSL", 1.0, (0, 0, 1, 1))
    >>> conflict_from_json(conflict_to_json(c)) == c
    True
    """
    # A plain list in field order: dataclasses.asdict deep-copies and is slow.
    return json.dumps([getattr(conflict, name) for name in _CONFLICT_FIELDS])


def _footprint_json(fp: Footprint) -> dict[str, Any]:
    shape, outer, inner = shapely.to_wkb([fp.shape, fp.outer, fp.inner], hex=True)
    return {
        "shape": shape,
        "outer": outer,
        "inner": inner,
        "centre_lon_deg": fp.centre_lon_deg,
        "centre_lat_deg": fp.centre_lat_deg,
        "radius_m": fp.radius_m,
    }


def _footprint(data: Mapping[str, Any]) -> Footprint:
    shape, outer, inner = shapely.from_wkb([data["shape"], data["outer"], data["inner"]])
    return Footprint(shape, outer, inner, data["centre_lon_deg"], data["centre_lat_deg"], data["radius_m"])


def _altitude_json(altitude: Altitude) -> list[Any]:
    return [altitude.value_m, str(altitude.reference)]


def _altitude(data: Sequence[Any]) -> Altitude:
    return Altitude(float(data[0]), AltitudeReference(data[1]))


def zone_to_json(zone: Zone) -> str:
    """A published zone as JSON text: its public facts, its layers (shapes as hex WKB) and applicability.

    >>> import numpy as np
    >>> from deconflict.geometry.footprint import polygon_footprint
    >>> square = polygon_footprint([[np.array([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)])]])
    >>> layer = ZoneLayer(square,
    ...                   Altitude(0.0, AltitudeReference.AGL), Altitude(120.0, AltitudeReference.AGL))
    >>> z = Zone("LX1", "SYR", ZoneRestriction.PROHIBITED, (layer,), name="Base")
    >>> back = zone_from_json(zone_to_json(z))
    >>> (back.facts() == z.facts(), back.layers[0].footprint.shape.equals(layer.footprint.shape))
    (True, True)
    """
    return json.dumps(
        {
            "facts": zone.facts(),
            "layers": [
                {
                    "footprint": _footprint_json(layer.footprint),
                    "lower": _altitude_json(layer.lower),
                    "upper": _altitude_json(layer.upper),
                }
                for layer in zone.layers
            ],
            "applicability": [
                {
                    "start_s": a.start_s,
                    "end_s": a.end_s,
                    "schedule": [
                        [sorted(p.weekdays), p.start_s, p.end_s, p.utc_offset_s] for p in a.schedule
                    ],
                }
                for a in zone.applicability
            ],
        }
    )


def zone_from_json(text: str) -> Zone:
    """A zone from :func:`zone_to_json`'s text."""
    data = json.loads(text)
    facts = data["facts"]
    return Zone(
        identifier=facts["identifier"],
        country=facts["country"],
        restriction=ZoneRestriction(facts["restriction"]),
        layers=tuple(
            ZoneLayer(_footprint(layer["footprint"]), _altitude(layer["lower"]), _altitude(layer["upper"]))
            for layer in data["layers"]
        ),
        applicability=tuple(
            Applicability(
                a["start_s"],
                a["end_s"],
                tuple(DailyPeriod(frozenset(days), t0, t1, offset) for days, t0, t1, offset in a["schedule"]),
            )
            for a in data["applicability"]
        ),
        name=facts["name"],
        reasons=tuple(facts["reasons"]),
        other_reason=facts["other_reason"],
        message=facts["message"],
        conditions=facts["conditions"],
        authorities=tuple(ZoneAuthority(**a) for a in facts["authorities"]),
    )


def lifecycle_from_row(row: Row) -> ConflictLifecycle:
    """A conflict's lifecycle from a ``conflict_states`` row (:data:`LIFECYCLE_COLUMNS`)."""
    return ConflictLifecycle(
        conflict_id=int(row["conflict_id"]),
        conflict=conflict_from_json(row["facts"]),
        side_a=Side(row["party_a"], row["acknowledged_a_s"], row["accepted_a_s"], row["accept_a_reason"]),
        side_b=Side(row["party_b"], row["acknowledged_b_s"], row["accepted_b_s"], row["accept_b_reason"]),
        resolution=None if row["resolution"] is None else Resolution(row["resolution"]),
        resolved_by=row["resolved_by"],
        resolved_s=row["resolved_s"],
    )


def lifecycle_row(lifecycle: ConflictLifecycle) -> tuple[object, ...]:
    """A lifecycle's ``conflict_states`` values, in :data:`LIFECYCLE_COLUMNS` order."""
    a, b = lifecycle.side_a, lifecycle.side_b
    return (
        lifecycle.conflict_id,
        a.party,
        b.party,
        a.acknowledged_s,
        b.acknowledged_s,
        a.accepted_s,
        a.accept_reason,
        b.accepted_s,
        b.accept_reason,
        None if lifecycle.resolution is None else str(lifecycle.resolution),
        lifecycle.resolved_by,
        lifecycle.resolved_s,
        conflict_to_json(lifecycle.conflict),
    )


MESSAGE_COLUMNS = (
    "id, sender, recipient, code, params_json, text, reply_by, nonce, signature, created_s, level, "
    "delivered_s, read_s, answered_s, reason, overdue_s"
)
"""The columns of ``messages`` that :func:`message_from_row` reads."""


NEW_MESSAGE_COLUMNS = (
    "sender, recipient, code, params_json, text, reply_by, reply_by_s, nonce, signature, created_s, level"
)
"""The columns of a new ``messages`` row, in the order :func:`new_message_row` gives them."""


def new_message_row(content: MessageContent, signature: str, created_s: float) -> tuple[object, ...]:
    """A new message's row (:data:`NEW_MESSAGE_COLUMNS`), at level ``sent``."""
    return (
        content.sender,
        content.recipient,
        content.code,
        json.dumps(dict(content.params), ensure_ascii=False, allow_nan=False),
        content.text,
        content.reply_by,
        content.reply_by_s,
        content.nonce,
        signature,
        created_s,
        AckLevel.SENT.value,
    )


def message_from_row(row: Row) -> Message:
    """A hotline message from a ``messages`` row of :data:`MESSAGE_COLUMNS`."""
    content = MessageContent(
        sender=row["sender"],
        recipient=row["recipient"],
        code=row["code"],
        params=json.loads(row["params_json"]),
        text=row["text"],
        reply_by=row["reply_by"],
        nonce=row["nonce"],
    )
    return Message(
        id=row["id"],
        content=content,
        signature=row["signature"],
        created_s=row["created_s"],
        level=AckLevel(row["level"]),
        delivered_s=row["delivered_s"],
        read_s=row["read_s"],
        answered_s=row["answered_s"],
        reason=row["reason"],
        overdue_s=row["overdue_s"],
    )


AUDIT_COLUMNS = "seq, time_s, actor, kind, subject, audience, payload, prev_hash, hash, signature"
"""The columns of ``audit_log``, in the order :func:`audit_row` gives them."""


def audit_row(entry: AuditEntry) -> tuple[object, ...]:
    """An audit entry as an ``audit_log`` row (:data:`AUDIT_COLUMNS`)."""
    return (
        entry.seq,
        entry.time_s,
        entry.actor,
        entry.kind,
        entry.subject_json,
        entry.audience_json,
        entry.payload_json,
        entry.prev_hash,
        entry.hash,
        entry.signature,
    )


def chain_changed(where: str, seq: int, digest: str, found_hash: str | None) -> str | None:
    """Why the chain of the database at ``where`` is not the one its log appended to (entry ``seq``
    with hash ``digest``; ``found_hash`` is the hash stored now, ``None`` when the entry is gone), or
    ``None`` when it is."""
    if found_hash == digest:
        return None
    found = "is gone" if found_hash is None else f"has hash {found_hash[:16]}…"
    return (
        f"{where}: the audit chain changed under the server: entry {seq} it appended "
        f"(hash {digest[:16]}…) {found} (was the database restored or edited?)"
    )


def audit_entry(row: Row) -> AuditEntry:
    """An audit entry from an ``audit_log`` row (the JSON columns kept as text, as they were hashed)."""
    return AuditEntry(
        seq=row["seq"],
        time_s=row["time_s"],
        actor=row["actor"],
        kind=row["kind"],
        subject_json=row["subject"],
        audience_json=row["audience"],
        payload_json=row["payload"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        signature=row["signature"],
    )


def create_key_file(path: Path) -> None:
    """Write a new private audit key to ``path`` (mode 0600) unless one appears there first."""
    private_pem, _ = generate_key_pair()
    # Written to a temporary file and linked into place: another process never
    # reads a half-written key, and an existing key is never replaced.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(private_pem)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def closest_columns(c: ClosestApproach) -> tuple[float, ...]:
    """A closest approach's ``closest_*`` column values: time (s), distance and vertical (m), position."""
    return (c.time_s, c.distance_m, c.vertical_m, c.lon_deg, c.lat_deg, c.alt_m)


def opened_row(incident: Incident) -> tuple[object, ...]:
    """A new incident's ``incidents`` row: id, parties and aircraft, times, closest, withheld."""
    a, b = incident.a, incident.b
    return (
        incident.id,
        a.party,
        a.id,
        b.party,
        b.id,
        incident.started_s,
        incident.ended_s,
        *closest_columns(incident.closest),
        ",".join(incident.withheld),
    )


def closest_row(incident: Incident) -> tuple[object, ...]:
    """An incident's closer approach as update values: ``closest_*``, ``withheld``, then its id."""
    return (*closest_columns(incident.closest), ",".join(incident.withheld), incident.id)


def alert_number(alert: Alert) -> int:
    """An alert's number in ``alert_log``: its id ``a-<n>`` without the prefix."""
    return int(alert.id.removeprefix("a-"))


def incident_from_row(row: Row, comments: tuple[IncidentComment, ...]) -> Incident:
    """An incident from an ``incidents`` row and its comment thread."""
    return Incident(
        id=int(row["id"]),
        a=Aircraft(row["party_a"], row["aircraft_a"]),
        b=Aircraft(row["party_b"], row["aircraft_b"]),
        started_s=float(row["started_s"]),
        ended_s=None if row["ended_s"] is None else float(row["ended_s"]),
        closest=ClosestApproach(
            float(row["closest_time_s"]),
            float(row["closest_distance_m"]),
            float(row["closest_vertical_m"]),
            float(row["closest_lon_deg"]),
            float(row["closest_lat_deg"]),
            float(row["closest_alt_m"]),
        ),
        comments=comments,
        withheld=tuple(p for p in str(row["withheld"]).split(",") if p),
    )


def incidents_from_rows(rows: Sequence[Row], comments: Iterable[Row]) -> list[Incident]:
    """The incidents of ``rows`` with their threads: ``comments`` are ``incident_comments`` rows
    (``incident_id``, ``party``, ``time_s``, ``text``) of those incidents, in the order they were written."""
    threads: dict[int, list[IncidentComment]] = {int(r["id"]): [] for r in rows}
    for c in comments:
        threads[int(c["incident_id"])].append(IncidentComment(c["party"], float(c["time_s"]), c["text"]))
    return [incident_from_row(r, tuple(threads[int(r["id"])])) for r in rows]


def alert_log_row(alert: Alert) -> tuple[object, ...]:
    """An alert as it starts in ``alert_log`` (number, party_a, aircraft_a, party_b, aircraft_b, start_s)."""
    return (alert_number(alert), alert.a.party, alert.a.id, alert.b.party, alert.b.id, alert.since_s)


def add_monthly_counts(
    counts: dict[tuple[str, str], tuple[int, int]], column: int, rows: Iterable[Row]
) -> None:
    """Add rows of ``month``, ``other`` (party) and ``n`` to ``counts``' alerts (``column`` 0) or
    incidents (1)."""
    for row in rows:
        key = (str(row["month"]), str(row["other"]))
        alerts, incidents = counts.get(key, (0, 0))
        n = int(row["n"])
        counts[key] = (alerts + n, incidents) if column == 0 else (alerts, incidents + n)


def pair_arguments(since_s: float, party_a: str, party_b: str) -> tuple[float, str, str, str, str]:
    """The arguments of a query for the blind sessions of two parties, either one the initiator, by
    start: ``started_s > ? AND ((initiator = ? AND peer = ?) OR (initiator = ? AND peer = ?))``."""
    return (since_s, party_a, party_b, party_b, party_a)


def check_relay_rate(session: RelaySession, started: Sequence[Row], per_pair_per_hour: int) -> None:
    """Refuse ``session`` when its pair's sessions ``started`` (rows with ``started_s``, the hour
    before it: :func:`~deconflict.channel.blind_relay.rate_window_start`) reach the bound.

    Raises
    ------
    BlindRateError
        As :func:`~deconflict.channel.blind_relay.rate_error` words it.
    """
    refused = rate_error(session, [float(r["started_s"]) for r in started], per_pair_per_hour)
    if refused is not None:
        raise refused


def relay_window_arguments(session: RelaySession) -> tuple[float, str, str, str, str]:
    """:func:`pair_arguments` for the hour before ``session`` starts, the window its pair's bound counts."""
    return pair_arguments(rate_window_start(session.started_s), session.initiator, session.peer)


def relay_session_from_rows(row: Row, posted: Sequence[Row]) -> RelaySession:
    """A session from its ``blind_sessions`` row and its ``blind_messages`` rows (``sender``,
    ``phase``) in the order they arrived."""
    return RelaySession(
        row["id"],
        row["initiator"],
        row["peer"],
        row["parameters"],
        float(row["started_s"]),
        tuple((str(p["sender"]), str(p["phase"])) for p in posted),
    )


@lru_cache(maxsize=64)
def _fields_json(fields: tuple[str, ...]) -> str:
    return json.dumps(list(fields))


def disclosure_row(entry: LedgerEntry) -> tuple[object, ...]:
    """A ledger entry as a ``disclosures`` row (:data:`DISCLOSURE_COLUMNS`)."""
    d = entry.disclosure
    return (
        d.subject,
        entry.number,
        d.time_s,
        str(d.kind),
        d.recipient,
        d.subject_ref,
        _fields_json(d.fields),
        d.reason_ref,
        d.note,
    )


def ledger_entry_from_row(row: Row) -> LedgerEntry:
    """A ledger entry from its ``disclosures`` row."""
    return LedgerEntry(
        int(row["number"]),
        Disclosure(
            kind=DisclosureKind(row["kind"]),
            subject=row["subject"],
            recipient=row["recipient"],
            subject_ref=row["subject_ref"],
            fields=tuple(json.loads(row["fields"])),
            reason_ref=row["reason_ref"],
            time_s=float(row["time_s"]),
            note=row["note"],
        ),
    )


def escalation_row(escalation: Escalation) -> tuple[object, ...]:
    """An ``escalations`` row: message_id, step, code, sender, recipient, due_s, recorded_s."""
    e = escalation
    return (e.message_id, e.step, e.code, e.sender, e.recipient, e.due_s, e.recorded_s)


def escalation_from_row(row: Row) -> Escalation:
    """An escalation from its ``escalations`` row."""
    return Escalation(
        message_id=row["message_id"],
        code=row["code"],
        sender=row["sender"],
        recipient=row["recipient"],
        step=row["step"],
        due_s=row["due_s"],
        recorded_s=row["recorded_s"],
    )


PARTY_COLUMNS = "name, public_key_pem, created_s, revoked_s"
"""The columns of ``parties`` that :func:`party_from_row` reads."""


def party_from_row(row: Row) -> Party:
    """A party from a ``parties`` row of :data:`PARTY_COLUMNS`."""
    return Party(
        name=row["name"],
        public_key_pem=row["public_key_pem"],
        created_s=row["created_s"],
        revoked_s=row["revoked_s"],
    )


def party_with_previous_token(row: Row) -> tuple[Party, str, float]:
    """The party, its previous token's hash and until when it is honoured, from a ``parties`` row
    of :data:`PARTY_COLUMNS`, ``previous_token_sha256`` and ``previous_token_until_s``."""
    return party_from_row(row), str(row["previous_token_sha256"]), float(row["previous_token_until_s"])
