"""Bodies of ``/v1/messages``: messages sent, acknowledged and shown, and escalations of unanswered ones."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deconflict.api.schemas.common import PUBLIC_ID, time_or_none
from deconflict.channel.catalogue import Catalogue
from deconflict.channel.deadlines import Escalation
from deconflict.channel.messages import AckLevel, Message, MessageContent
from deconflict.channel.public_ids import IdKind, PublicIds
from deconflict.strategic.conflicts import format_time

__all__ = ["AckIn", "EscalationOut", "MessageCreate", "MessageOut"]


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


class MessageOut(BaseModel):
    """A message as its sender or recipient sees it, rendered in the reader's language."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: int = Field(description=PUBLIC_ID.format("message"))
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
    def of(cls, message: Message, catalogue: Catalogue, language: str, ids: PublicIds) -> MessageOut:
        """The response body of a message, rendered in ``language``, with its public id."""
        content = message.content
        rendered = catalogue.render(content.code, content.params, content.text, language)
        return cls(
            id=ids.public(IdKind.MESSAGE, message.id),
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
            delivered=time_or_none(message.delivered_s),
            read=time_or_none(message.read_s),
            answered=time_or_none(message.answered_s),
            language=rendered.language,
            title=rendered.title,
            rendered=rendered.body,
        )


class EscalationOut(BaseModel):
    """A step of the escalation ladder reached by an unanswered message; both sides see it."""

    model_config = ConfigDict(serialize_by_alias=True)

    message: int = Field(description="the message's id")
    code: str
    from_: str = Field(serialization_alias="from")
    to: str
    step: int = Field(description="0: the first step (at the deadline), 1, 2, ...")
    due: str = Field(description="RFC 3339: the deadline plus the step's offset")
    recorded: str = Field(description="RFC 3339: when the channel noticed")

    @classmethod
    def of(cls, escalation: Escalation, ids: PublicIds) -> EscalationOut:
        """The response body of an escalation (its message's public id)."""
        return cls(
            message=ids.public(IdKind.MESSAGE, escalation.message_id),
            code=escalation.code,
            from_=escalation.sender,
            to=escalation.recipient,
            step=escalation.step,
            due=format_time(escalation.due_s),
            recorded=format_time(escalation.recorded_s),
        )
