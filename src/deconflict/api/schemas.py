"""Request and response bodies of the REST API (pydantic: the edge only).

Each response model has an ``of`` constructor from the domain object it shows;
the domain never sees these classes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from deconflict.channel.audit import AuditEntry, ChainLink, Checkpoint, canonical_json
from deconflict.channel.catalogue import Catalogue, MessageKind
from deconflict.channel.conflicts import MAX_REASON_CHARS, LifecycleView
from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.ledger import LedgerEntry
from deconflict.channel.live import (
    AlertView,
    ForeignTrack,
    IncidentComment,
    IncidentView,
    Intake,
    OwnTrack,
    PartyPicture,
    TrackState,
)
from deconflict.channel.messages import AckLevel, Message, MessageContent
from deconflict.channel.parties import Party
from deconflict.channel.stats import ChannelStats, PairStats
from deconflict.errors import InputError, Problem
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.geojson import parse_datetime_s, volume_feature
from deconflict.strategic.volume import Operation

__all__ = [
    "COMMON_RESPONSES",
    "OPERATION_ID_PATTERN",
    "AckIn",
    "AlertOut",
    "AlertsOut",
    "AuditEntryOut",
    "AuditHeadOut",
    "AuditKeyOut",
    "AuditLinkOut",
    "AuditViewOut",
    "CatalogueEntryOut",
    "CatalogueOut",
    "ClosestOut",
    "ConflictAcceptIn",
    "ConflictAcceptanceOut",
    "ConflictAckOut",
    "ConflictOut",
    "DisclosureOut",
    "ErrorOut",
    "EscalationOut",
    "FilingOut",
    "ForeignTrackOut",
    "HealthOut",
    "IncidentCommentIn",
    "IncidentCommentOut",
    "IncidentOut",
    "IncidentsOut",
    "MessageCreate",
    "MessageOut",
    "OperationCreate",
    "OperationOut",
    "OperationUpdate",
    "OwnTrackOut",
    "PartyDirectoryOut",
    "PartyOut",
    "ProblemOut",
    "ProblemsOut",
    "ReadyOut",
    "StatsConflictsOut",
    "StatsMonthOut",
    "StatsOut",
    "StatsPairOut",
    "TrackStateIn",
    "TracksAcceptedOut",
    "TracksIn",
    "TracksOut",
    "VersionConflictOut",
    "VolumeCollectionOut",
]

OPERATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Operation ids appear in URLs: letters, digits, ``.``, ``_``, ``:``, ``-``; at most 128."""

OperationId = Annotated[
    str, Field(pattern=OPERATION_ID_PATTERN, description="the operation's id, unique within the party")
]
Priority = Annotated[
    StrictInt, Field(ge=-1_000_000, le=1_000_000, description="higher wins when plans give way")
]


class _PlanIn(BaseModel):
    """A PRODUCT.md GeoJSON FeatureCollection of volumes plus the operation's fields."""

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(description="one GeoJSON Feature per volume (PRODUCT.md)")

    def document(self) -> dict[str, Any]:
        """The FeatureCollection, as the domain's GeoJSON reader takes it."""
        return {"type": "FeatureCollection", "features": self.features}


class OperationCreate(_PlanIn):
    """Body of ``POST /v1/operations``."""

    id: OperationId
    priority: Priority = 0


class OperationUpdate(_PlanIn):
    """Body of ``PUT /v1/operations/{id}``; ``id``, if given, must be the URL's.

    Without ``priority`` the operation keeps the priority of the version it replaces.
    """

    id: OperationId | None = None
    priority: Priority | None = Field(default=None, description="higher wins; omitted: unchanged")


class VolumeCollectionOut(BaseModel):
    """An operation's volumes as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class OperationOut(BaseModel):
    """One of the caller's operations."""

    id: str
    party: str
    version: int = Field(description="send it back in If-Match to change the operation")
    state: str
    priority: int
    volumes: VolumeCollectionOut

    @classmethod
    def of(cls, operation: Operation) -> OperationOut:
        """The response body of an operation."""
        return cls(
            id=operation.id,
            party=operation.party,
            version=operation.version,
            state=str(operation.state),
            priority=operation.priority,
            volumes=VolumeCollectionOut(features=[volume_feature(v) for v in operation.volumes]),
        )


class ConflictAckOut(BaseModel):
    """One side's acknowledgement of a conflict."""

    party: str
    time: str = Field(description="RFC 3339 UTC time of the acknowledgement")


class ConflictAcceptanceOut(BaseModel):
    """One side's acceptance of a conflict as it is, with its reason (both sides see both)."""

    party: str
    reason: str
    time: str = Field(description="RFC 3339 UTC time of the acceptance")


class ConflictAcceptIn(BaseModel):
    """``POST /v1/conflicts/{id}/accept``: why the caller accepts the conflict as it is."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, description="why; seen by both sides")


class ConflictOut(BaseModel):
    """A conflict as the caller may see it: its own side, and only shared facts of the other.

    ``state`` is ``open``, ``acknowledged`` (by both sides), ``accepted`` (by
    both, each with a reason) or ``resolved`` (``resolution``: one side
    ``amended`` or ``withdrawn`` its operation, ``resolved_by`` names it).
    """

    id: int = Field(description="stable id of the conflict")
    state: str
    operation: str = Field(description="the caller's operation")
    volume: str = Field(description="the caller's volume")
    other_party: str = Field(description="the party on the other side (its priority is not disclosed)")
    time_start: str = Field(description="RFC 3339 UTC start of the common time window")
    time_end: str
    altitude_lower_m: float
    altitude_upper_m: float
    altitude_reference: str
    overlap_area_m2: float
    overlap_bbox: tuple[float, float, float, float] = Field(
        description="min lon, min lat, max lon, max lat of the common region (degrees)"
    )
    acknowledged_by: list[ConflictAckOut] = Field(default=[], description="sides that acknowledged it")
    accepted_by: list[ConflictAcceptanceOut] = Field(
        default=[], description="sides that accepted it as it is, with their reasons"
    )
    resolution: Literal["amended", "withdrawn"] | None = None
    resolved_by: str | None = None
    resolved: str | None = Field(default=None, description="RFC 3339 UTC time of the resolution")

    @classmethod
    def of(cls, view: ConflictView, lifecycle: LifecycleView | None = None) -> ConflictOut:
        """The response body of a conflict view (and its lifecycle, once something happened to it)."""
        lon0, lat0, lon1, lat1 = (round(v, 7) for v in view.overlap_bbox)
        extra: dict[str, Any] = {}
        if lifecycle is not None:
            extra = {
                "acknowledged_by": [
                    ConflictAckOut(party=p, time=format_time(t)) for p, t in lifecycle.acknowledgements
                ],
                "accepted_by": [
                    ConflictAcceptanceOut(party=p, reason=r, time=format_time(t))
                    for p, r, t in lifecycle.acceptances
                ],
                "resolution": lifecycle.resolution,
                "resolved_by": lifecycle.resolved_by,
                "resolved": None if lifecycle.resolved_s is None else format_time(lifecycle.resolved_s),
            }
        return cls(
            **extra,
            id=view.id,
            state=view.state,
            operation=view.operation,
            volume=view.volume,
            other_party=view.other_party,
            time_start=format_time(view.time_start_s),
            time_end=format_time(view.time_end_s),
            altitude_lower_m=round(view.altitude_lower_m, 3),
            altitude_upper_m=round(view.altitude_upper_m, 3),
            altitude_reference=view.altitude_reference,
            overlap_area_m2=round(view.overlap_area_m2, 3),
            overlap_bbox=(lon0, lat0, lon1, lat1),
        )


class FilingOut(BaseModel):
    """The operation as filed and the conflicts the strategic check found."""

    operation: OperationOut
    conflicts: list[ConflictOut]


class PartyOut(BaseModel):
    """A party's public facts."""

    model_config = ConfigDict(frozen=True)

    name: str
    public_key_pem: str
    created: str

    @classmethod
    def of(cls, party: Party) -> PartyOut:
        """The response body of a party."""
        return cls(name=party.name, public_key_pem=party.public_key_pem, created=format_time(party.created_s))


class PartyDirectoryOut(BaseModel):
    """A party as every other party may see it: what its messages verify against."""

    model_config = ConfigDict(frozen=True)

    name: str
    public_key_pem: str
    revoked: bool = Field(description="its token is revoked: it sends nothing new")

    @classmethod
    def of(cls, party: Party) -> PartyDirectoryOut:
        """The directory entry of a party."""
        return cls(name=party.name, public_key_pem=party.public_key_pem, revoked=party.revoked_s is not None)


class HealthOut(BaseModel):
    """The service answers."""

    status: Literal["ok"] = "ok"
    version: str


class ReadyOut(BaseModel):
    """Whether the service can serve requests: its database answers at the latest schema version."""

    status: Literal["ready", "not ready"]
    reason: str | None = Field(default=None, description="why not, when not ready")


class ErrorOut(BaseModel):
    """An error with one message."""

    detail: str


class VersionConflictOut(BaseModel):
    """409: the version named is not the current one."""

    detail: str
    current_version: int | None


class ProblemOut(BaseModel):
    """One problem of a request, located by record and field."""

    msg: str
    source: str
    record: str | None
    field: str | None


class ProblemsOut(BaseModel):
    """422: every problem of the request."""

    detail: list[ProblemOut]


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the body cannot be read (e.g. not UTF-8)"},
    401: {"model": ErrorOut, "description": "missing, malformed, unknown or revoked bearer token"},
    429: {
        "model": ErrorOut,
        "description": "too many failed logins from the caller's address; Retry-After says when to retry",
    },
    422: {"model": ProblemsOut, "description": "the request does not match its schema (or the data is bad)"},
}
"""The ``responses`` every route behind a bearer token may give (``APIRouter(responses=...)``).

Every 422 has the body of :class:`ProblemsOut`, the framework's own validation
errors too (the app converts them), so routes document it once here.
"""


class CatalogueEntryOut(BaseModel):
    """One message code: its texts in every language and the JSON Schema of its ``params``."""

    code: str
    title: dict[str, str] = Field(description="by language code")
    template: dict[str, str] = Field(description="by language code; {name} is parameter name")
    params_schema: dict[str, Any] = Field(description="JSON Schema (draft 2020-12) of params")

    @classmethod
    def of(cls, kind: MessageKind) -> CatalogueEntryOut:
        """The response body of a catalogue code."""
        return cls(
            code=kind.code,
            title=dict(kind.titles),
            template=dict(kind.templates),
            params_schema=dict(kind.params_schema),
        )


class CatalogueOut(BaseModel):
    """The message catalogue."""

    version: int
    languages: list[str]
    messages: list[CatalogueEntryOut]


class MessageCreate(BaseModel):
    """Body of ``POST /v1/messages``: the content and the sender's signature of it.

    ``signature`` is the base64 Ed25519 signature, by the sender's registered
    key, of the UTF-8 JSON ``{"code", "from", "nonce", "params", "reply_by",
    "text", "to"}`` with sorted keys and no whitespace (``from`` is the caller).
    """

    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="the recipient party")
    code: str = Field(description="a code of GET /v1/catalogue")
    params: dict[str, Any] = Field(default_factory=dict, description="valid against the code's schema")
    text: str = Field(default="", description="free text (required for FREE)")
    reply_by: str | None = Field(
        default=None, description="RFC 3339 reply deadline, e.g. 2026-01-01T12:30:00Z"
    )
    nonce: str = Field(description="16-128 URL-safe characters, never reused by the sender")
    signature: str = Field(description="base64 Ed25519 signature of the canonical JSON")

    def content(self, sender: str) -> MessageContent:
        """The signed content, from ``sender`` (the authenticated caller)."""
        return MessageContent(
            sender=sender,
            recipient=self.to,
            code=self.code,
            params=self.params,
            text=self.text,
            reply_by=self.reply_by,
            nonce=self.nonce,
        )


class AckIn(BaseModel):
    """Body of ``POST /v1/messages/{id}/ack``."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["read", "accepted", "disputed"]
    reason: str | None = Field(default=None, description="required when disputed")

    def ack_level(self) -> AckLevel:
        """The level as a domain value."""
        return AckLevel(self.level)


def _time_or_none(time_s: float | None) -> str | None:
    return None if time_s is None else format_time(time_s)


class MessageOut(BaseModel):
    """A message as its sender or recipient sees it, rendered in the reader's language."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: int
    from_: str = Field(serialization_alias="from")
    to: str
    code: str
    params: dict[str, Any]
    text: str
    reply_by: str | None
    nonce: str
    signature: str = Field(description="base64 Ed25519 signature of the canonical JSON, by the sender")
    created: str
    state: AckLevel = Field(description="acknowledgement level: sent, delivered, read, accepted, disputed")
    reason: str | None
    overdue: bool
    delivered: str | None
    read: str | None
    answered: str | None
    language: str
    title: str
    rendered: str = Field(description="the code's template filled with params, then the free text")

    @classmethod
    def of(cls, message: Message, catalogue: Catalogue, language: str) -> MessageOut:
        """The response body of a message, rendered in ``language``."""
        content = message.content
        rendered = catalogue.render(content.code, content.params, content.text, language)
        return cls(
            id=message.id,
            from_=content.sender,
            to=content.recipient,
            code=content.code,
            params=dict(content.params),
            text=content.text,
            reply_by=content.reply_by,
            nonce=content.nonce,
            signature=message.signature,
            created=format_time(message.created_s),
            state=message.level,
            reason=message.reason,
            overdue=message.overdue_s is not None,
            delivered=_time_or_none(message.delivered_s),
            read=_time_or_none(message.read_s),
            answered=_time_or_none(message.answered_s),
            language=rendered.language,
            title=rendered.title,
            rendered=rendered.body,
        )


class EscalationOut(BaseModel):
    """A step of the escalation ladder reached by an unanswered message; both sides see it."""

    model_config = ConfigDict(serialize_by_alias=True)

    message: int
    code: str
    from_: str = Field(serialization_alias="from")
    to: str
    step: int = Field(description="0: the first step (at the deadline), 1, 2, ...")
    due: str = Field(description="RFC 3339: the deadline plus the step's offset")
    recorded: str = Field(description="RFC 3339: when the channel noticed")

    @classmethod
    def of(cls, escalation: Escalation) -> EscalationOut:
        """The response body of an escalation."""
        return cls(
            message=escalation.message_id,
            code=escalation.code,
            from_=escalation.sender,
            to=escalation.recipient,
            step=escalation.step,
            due=format_time(escalation.due_s),
            recorded=format_time(escalation.recorded_s),
        )


class AuditEntryOut(BaseModel):
    """An audit entry the caller may read: everything needed to recompute its hash and check its signature."""

    visible: Literal[True] = True
    seq: int
    time_s: float = Field(description="seconds since the epoch, exactly as hashed")
    time: str
    actor: str
    kind: str
    subject: list[str]
    audience: list[str] = Field(description="the parties that may read the entry")
    payload: dict[str, Any]
    prev_hash: str
    hash: str = Field(
        description="hex SHA-256 of the canonical JSON of the entry (see `deconflict.channel.audit`)"
    )
    signature: str = Field(description="base64 Ed25519 signature of the raw hash by the server key")

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        """The response body of a readable entry."""
        return cls(
            seq=entry.seq,
            time_s=entry.time_s,
            time=format_time(entry.time_s),
            actor=entry.actor,
            kind=entry.kind,
            subject=entry.subject,
            audience=entry.audience,
            payload=entry.payload,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
            signature=entry.signature,
        )

    def entry(self) -> AuditEntry:
        """The domain entry, with its JSON fields in canonical form (to verify it)."""
        return AuditEntry(
            seq=self.seq,
            time_s=self.time_s,
            actor=self.actor,
            kind=self.kind,
            subject_json=canonical_json(self.subject),
            audience_json=canonical_json(self.audience),
            payload_json=canonical_json(self.payload),
            prev_hash=self.prev_hash,
            hash=self.hash,
            signature=self.signature,
        )


class AuditLinkOut(BaseModel):
    """An entry the caller may not read: its place in the chain only, no time, actor, kind or payload."""

    visible: Literal[False] = False
    seq: int
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, link: ChainLink) -> AuditLinkOut:
        """The response body of an entry outside the caller's view."""
        return cls(seq=link.seq, prev_hash=link.prev_hash, hash=link.hash)

    def link(self) -> ChainLink:
        """The domain link."""
        return ChainLink(self.seq, self.prev_hash, self.hash)


class AuditViewOut(BaseModel):
    """A page of the audit chain as the caller sees it."""

    party: str
    public_key_pem: str = Field(description="the server's Ed25519 public key that signs the chain")
    entries: list[Annotated[AuditEntryOut | AuditLinkOut, Field(discriminator="visible")]]
    next_after: int | None = Field(description="pass as `after` for the next page; null at the end")


class AuditKeyOut(BaseModel):
    """The server's audit public key."""

    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key_pem: str


class AuditHeadOut(BaseModel):
    """A checkpoint: the chain's head signed by the server, a receipt a party keeps.

    The signature (base64 Ed25519, server key) covers the canonical JSON
    ``{"hash", "seq", "time_s", "type": "deconflict-audit-checkpoint"}``.
    """

    seq: int = Field(description="the last entry's seq (0: empty chain)")
    hash: str = Field(description="its hash (hex SHA-256)")
    time: str = Field(description="when the server signed it, RFC 3339")
    time_s: float = Field(description="the same, seconds since the Unix epoch (what is signed)")
    signature: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> AuditHeadOut:
        """The API view of a checkpoint."""
        return cls(
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            time=format_time(checkpoint.time_s),
            time_s=checkpoint.time_s,
            signature=checkpoint.signature,
        )


class StatsConflictsOut(BaseModel):
    """Conflicts of a pair detected in a month, by the lifecycle state they are in now."""

    open: int
    acknowledged: int
    resolved: int
    accepted: int


class StatsPairOut(BaseModel):
    """One month of one pair of parties, one of which is the caller."""

    parties: tuple[str, str] = Field(description="the two parties, sorted")
    messages: int = Field(description="messages between them, both directions, sent in the month")
    ack_median_s: float | None = Field(description="median seconds from sent to accepted or disputed")
    ack_p95_s: float | None = Field(description="95th percentile of the same (linear interpolation)")
    overdue: int = Field(description="messages that missed their reply-by deadline")
    conflicts: StatsConflictsOut
    alerts: int
    incidents: int

    @classmethod
    def of(cls, pair: PairStats) -> StatsPairOut:
        """The response body of a pair's month."""
        c = pair.conflicts
        return cls(
            parties=pair.parties,
            messages=pair.messages,
            ack_median_s=pair.ack_median_s,
            ack_p95_s=pair.ack_p95_s,
            overdue=pair.overdue,
            conflicts=StatsConflictsOut(
                open=c.open, acknowledged=c.acknowledged, resolved=c.resolved, accepted=c.accepted
            ),
            alerts=pair.alerts,
            incidents=pair.incidents,
        )


class StatsMonthOut(BaseModel):
    """One UTC month and the caller's pairs in it."""

    month: str = Field(description='"YYYY-MM", UTC', examples=["2026-11"])
    pairs: list[StatsPairOut]


class StatsOut(BaseModel):
    """The caller's channel statistics by month and pair (never of a pair it is not in)."""

    party: str
    months: list[StatsMonthOut]

    @classmethod
    def of(cls, stats: ChannelStats) -> StatsOut:
        """The response body of a party's statistics."""
        return cls(
            party=stats.party,
            months=[
                StatsMonthOut(month=m.month, pairs=[StatsPairOut.of(pair) for pair in m.pairs])
                for m in stats.months
            ],
        )


# -- live picture: /v1/tracks, /v1/alerts, /v1/incidents -----------------------------------------


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
    def of(cls, track: ForeignTrack) -> ForeignTrackOut:
        """The response body of a foreign track."""
        return cls(ref=track.ref, party=track.party, **cls.fields_of(track))


class TracksOut(BaseModel):
    """The live picture as the caller may see it."""

    time: str
    own: list[OwnTrackOut]
    foreign: list[ForeignTrackOut]

    @classmethod
    def of(cls, picture: PartyPicture) -> TracksOut:
        """The response body of a party's picture."""
        return cls(
            time=format_time(picture.time_s),
            own=[OwnTrackOut.of(t) for t in picture.own],
            foreign=[ForeignTrackOut.of(t) for t in picture.foreign],
        )


class AlertOut(BaseModel):
    """An alert from the caller's side.

    While the caller's own aircraft does not vouch for disclosure (``withheld``:
    ``probation`` or ``outside_plans``), the figures that would place the other
    aircraft are null; the alert, its level and the own aircraft are always there.
    """

    id: str
    level: Literal["advisory", "warning", "loss"]
    own_id: str
    other_party: str
    other_ref: str
    since: str
    time_to_loss_s: float | None
    time_to_cpa_s: float | None
    distance_cpa_m: float | None
    vertical_cpa_m: float | None
    own: tuple[float, float, float] = Field(description="[lon_deg, lat_deg, alt_m]")
    other: tuple[float, float, float] | None = Field(description="[lon_deg, lat_deg, alt_m], null: withheld")
    withheld: Literal["probation", "outside_plans"] | None = Field(
        default=None, description="why the other aircraft is not shown (null: it is)"
    )

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        """The response body of an alert."""
        return cls(
            id=view.id,
            level=view.level.value,
            own_id=view.own_id,
            other_party=view.other_party,
            other_ref=view.other_ref,
            since=format_time(view.since_s),
            time_to_loss_s=view.time_to_loss_s,
            time_to_cpa_s=view.time_to_cpa_s,
            distance_cpa_m=view.distance_cpa_m,
            vertical_cpa_m=view.vertical_cpa_m,
            own=view.own,
            other=view.other,
            withheld=None if view.withheld is None else view.withheld.value,
        )


class AlertsOut(BaseModel):
    """The caller's open alerts."""

    alerts: list[AlertOut]


class ClosestOut(BaseModel):
    """An incident's closest approach (position: midpoint of the two aircraft)."""

    time: str
    distance_m: float
    vertical_m: float
    lon_deg: float
    lat_deg: float
    alt_m: float


class IncidentCommentIn(BaseModel):
    """Body of ``POST /v1/incidents/{id}/comments``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the caller's account; kept as written, never edited")


class IncidentCommentOut(BaseModel):
    """One side's comment on an incident."""

    party: str
    time: str
    text: str

    @classmethod
    def of(cls, comment: IncidentComment) -> IncidentCommentOut:
        """The response body of a comment."""
        return cls(party=comment.party, time=format_time(comment.time_s), text=comment.text)


class IncidentOut(BaseModel):
    """An incident (loss of separation) from the caller's side, with both sides' comments."""

    id: int
    own_id: str
    other_party: str
    started: str
    ended: str | None = Field(description="null while open")
    closest: ClosestOut | None = Field(
        description="null while the caller's own aircraft does not vouch for disclosure (AlertOut.withheld)"
    )
    comments: list[IncidentCommentOut]

    @classmethod
    def of(cls, view: IncidentView) -> IncidentOut:
        """The response body of an incident."""
        c = view.closest
        return cls(
            id=view.id,
            own_id=view.own_id,
            other_party=view.other_party,
            started=format_time(view.started_s),
            ended=_time_or_none(view.ended_s),
            closest=None
            if c is None
            else ClosestOut(
                time=format_time(c.time_s),
                distance_m=c.distance_m,
                vertical_m=c.vertical_m,
                lon_deg=c.lon_deg,
                lat_deg=c.lat_deg,
                alt_m=c.alt_m,
            ),
            comments=[IncidentCommentOut.of(x) for x in view.comments],
        )


class IncidentsOut(BaseModel):
    """The incidents involving the caller's aircraft."""

    incidents: list[IncidentOut]


class DisclosureOut(BaseModel):
    """One fact the channel gave another party about the caller (an entry of its disclosure ledger).

    ``kind`` ``probe_alarm`` is a warning instead: ``recipient`` withdrew an
    operation right after it revealed the caller's plans (``note``
    ``withdrawn``), revealed them in a burst of filings (``burst``), or swept the
    live picture with aircraft that do not vouch (``sweep``: ``subject_ref`` the
    caller's aircraft they met, ``reason`` how many took part).
    """

    number: int = Field(description="the caller's own entry number (1, 2, ...: counts only its entries)")
    time: str = Field(description="RFC 3339 UTC time of the disclosure")
    kind: Literal["conflict", "alert", "probe_alarm"]
    recipient: str = Field(description="the party that learnt it")
    subject_ref: str = Field(description="what of the caller's it is about: operation/volume, or aircraft")
    fields: list[str] = Field(description="which facts were given, e.g. overlap_bbox, altitude_band")
    reason: str = Field(description="why: the conflict or alert, e.g. conflict:12")
    note: str = Field(default="", description="for a probe alarm: withdrawn, burst or sweep")

    @classmethod
    def of(cls, entry: LedgerEntry) -> DisclosureOut:
        """The response body of a ledger entry."""
        d = entry.disclosure
        return cls(
            number=entry.number,
            time=format_time(d.time_s),
            kind=str(d.kind),  # type: ignore[arg-type]
            recipient=d.recipient,
            subject_ref=d.subject_ref,
            fields=list(d.fields),
            reason=d.reason_ref,
            note=d.note,
        )
