"""``/v1/messages`` and ``/v1/escalations``: the hotline between parties.

A party sees only the messages it sent or received; anyone else's is not found
(404), never forbidden. Every route first records the deadlines the clock has
passed, so overdue states and escalations are current in every answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from deconflict.api.deps import (
    AuditDep,
    CatalogueDep,
    CurrentParty,
    EventsDep,
    HotlineDep,
    HotlineNow,
    Language,
    MessageRow,
    PartyStoreDep,
    PublicIdsDep,
    current_party,
)
from deconflict.api.limits import RatedSender
from deconflict.api.schemas.common import COMMON_RESPONSES, ErrorOut, ProblemsOut
from deconflict.api.schemas.messages import AckIn, EscalationOut, MessageCreate, MessageOut
from deconflict.channel.messages import AckLevel, Box
from deconflict.channel.public_ids import IdKind
from deconflict.channel.service.messages import acknowledge_message, fetch_messages, read_one, send
from deconflict.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(
    prefix="/v1", tags=["hotline"], dependencies=[Depends(current_party)], responses=COMMON_RESPONSES
)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}

PAGE = 200
"""Messages a listing returns unless asked for fewer (or more, up to :data:`MAX_PAGE`)."""
MAX_PAGE = 1000


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses={
        409: {"model": ErrorOut, "description": "the nonce was used before"},
        422: {"model": ProblemsOut, "description": "bad recipient, code, params, deadline or signature"},
        429: {"model": ErrorOut, "description": "over messages_per_minute; Retry-After says when to retry"},
    },
)
def send_one(
    body: MessageCreate,
    party: RatedSender,
    parties: PartyStoreDep,
    messages: HotlineDep,
    audit: AuditDep,
    catalogue: CatalogueDep,
    now_s: HotlineNow,
    language: Language,
    events: EventsDep,
    response: Response,
    ids: PublicIdsDep,
) -> MessageOut:
    """Send a signed message; the server verifies the signature with the caller's public key."""
    content = body.content(party.name)
    message = send(messages, parties, catalogue, audit, content, body.signature, now_s, events)
    out = MessageOut.of(message, catalogue, language, ids)
    response.headers["Location"] = f"/v1/messages/{out.id}"
    return out


@router.get("/messages", response_model=list[MessageOut], responses=_NOT_FOUND)
def list_box(
    party: CurrentParty,
    messages: HotlineDep,
    audit: AuditDep,
    catalogue: CatalogueDep,
    now_s: HotlineNow,
    language: Language,
    ids: PublicIdsDep,
    box: Annotated[Box, Query(description="inbox: received (fetching marks them delivered); outbox: sent")],
    state: Annotated[AckLevel | None, Query(description="only messages at this level")] = None,
    overdue: Annotated[bool | None, Query(description="only overdue (true) or not overdue (false)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="the newest this many at most")] = PAGE,
    before: Annotated[
        int | None,
        Query(ge=1, description="the id of one of the caller's messages: only messages older than it"),
    ] = None,
) -> list[MessageOut]:
    """The caller's received or sent messages: the newest ``limit`` (before ``before``), oldest first.

    To page back, pass the id of a page's first (oldest) message as ``before``;
    ids are in no order, the messages are (the order they were stored in). A
    ``before`` that is not a message of the caller is not found (404). Fetching
    the inbox marks the page's new messages delivered.
    """
    before_row = None
    if before is not None:
        before_row = ids.row(IdKind.MESSAGE, before)
        cursor = messages.get_message(before_row)
        if cursor is None or not cursor.involves(party.name):
            raise NotFoundError(f"no message {before}")  # as GET /v1/messages/{id} answers
    found = fetch_messages(messages, audit, party.name, box, now_s, state, overdue, limit, before_row)
    return [MessageOut.of(m, catalogue, language, ids) for m in found]


@router.get("/messages/{message_id}", response_model=MessageOut, responses=_NOT_FOUND)
def get_one(
    message: MessageRow,
    party: CurrentParty,
    messages: HotlineDep,
    audit: AuditDep,
    catalogue: CatalogueDep,
    now_s: HotlineNow,
    language: Language,
    ids: PublicIdsDep,
) -> MessageOut:
    """A message the caller sent or received (fetching a received one marks it delivered)."""
    with message.public_errors():
        found = read_one(messages, audit, message.row, party.name, now_s)
    return MessageOut.of(found, catalogue, language, ids)


@router.post(
    "/messages/{message_id}/ack",
    response_model=MessageOut,
    responses={
        404: {"model": ErrorOut, "description": "not a message the caller received"},
        409: {"model": ErrorOut, "description": "the message is already at that level or beyond"},
        422: {"model": ProblemsOut},
    },
)
def ack(
    message: MessageRow,
    body: AckIn,
    party: CurrentParty,
    messages: HotlineDep,
    audit: AuditDep,
    catalogue: CatalogueDep,
    now_s: HotlineNow,
    language: Language,
    events: EventsDep,
    ids: PublicIdsDep,
) -> MessageOut:
    """Acknowledge a received message: read, then accepted or disputed (with a reason)."""
    with message.public_errors():
        acked = acknowledge_message(
            messages, audit, message.row, party.name, body.ack_level(), body.reason, now_s, events
        )
    return MessageOut.of(acked, catalogue, language, ids)


@router.get("/escalations", response_model=list[EscalationOut])
def list_escalations(
    party: CurrentParty, messages: HotlineDep, now_s: HotlineNow, ids: PublicIdsDep
) -> list[EscalationOut]:
    """Escalations of messages the caller sent or received, oldest first."""
    del now_s  # requested for its effect: deadlines passed until now are recorded
    return [EscalationOut.of(e, ids) for e in messages.list_escalations(party.name)]
