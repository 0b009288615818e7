"""Request and response bodies of the REST API (pydantic: the edge only).

Each response model has an ``of`` constructor from the domain object it shows;
the domain never sees these classes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from deconflict.channel.audit import AuditEntry, ChainLink, canonical_json
from deconflict.channel.catalogue import Catalogue, MessageKind
from deconflict.channel.conflicts import MAX_REASON_CHARS, LifecycleView
from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.messages import AckLevel, Message, MessageContent
from deconflict.channel.parties import Party
from deconflict.strategic.conflicts import format_time
from deconflict.strategic.geojson import volume_feature
from deconflict.strategic.volume import Operation

__all__ = [
    "OPERATION_ID_PATTERN",
    "AckIn",
    "AuditEntryOut",
    "AuditKeyOut",
    "AuditLinkOut",
    "AuditViewOut",
    "CatalogueEntryOut",
    "CatalogueOut",
    "ConflictAcceptIn",
    "ConflictAcceptanceOut",
    "ConflictAckOut",
    "ConflictOut",
    "ErrorOut",
    "EscalationOut",
    "FilingOut",
    "HealthOut",
    "MessageCreate",
    "MessageOut",
    "OperationCreate",
    "OperationOut",
    "OperationUpdate",
    "PartyOut",
    "ProblemOut",
    "ProblemsOut",
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
    priority: Priority = 0
    features: list[dict[str, Any]] = Field(description="one GeoJSON Feature per volume (PRODUCT.md)")

    def document(self) -> dict[str, Any]:
        """The FeatureCollection, as the domain's GeoJSON reader takes it."""
        return {"type": "FeatureCollection", "features": self.features}


class OperationCreate(_PlanIn):
    """Body of ``POST /v1/operations``."""

    id: OperationId


class OperationUpdate(_PlanIn):
    """Body of ``PUT /v1/operations/{id}``; ``id``, if given, must be the URL's."""

    id: OperationId | None = None


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
    other_party: str
    other_priority: int
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
            other_priority=view.other_priority,
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


class HealthOut(BaseModel):
    """The service answers."""

    status: Literal["ok"] = "ok"
    version: str


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
