"""``/v1/blind``: the relay of blind sessions between two parties; the server learns nothing.

A party starts a session naming the other party and the public parameters both
agreed; each then posts its three messages (``hello``, ``blinded``,
``reblinded``: :mod:`deconflict.blind.protocol`) as opaque bodies and fetches the
other's. The server stores each body as it came, never opens or logs one, and
deletes them all when a party ends the session or ``blind_session_ttl_s`` after
it started. A pair of parties starts at most ``blind_sessions_per_hour``
sessions in any hour; a body is bounded by ``max_request_bytes``. A session is
visible to its two parties only: to anyone else it does not exist (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from deconflict.api.deps import BlindRelayDep, CurrentParty, Now, PartyStoreDep, SettingsDep, current_party
from deconflict.api.schemas.blind import BlindSessionIn, BlindSessionOut
from deconflict.api.schemas.common import COMMON_RESPONSES, ErrorOut
from deconflict.channel.blind_relay import (
    PHASES,
    BlindRateError,
    end_session,
    fetch_messages,
    post_message,
    session_for,
    start_session,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/blind", tags=["blind"], dependencies=[Depends(current_party)], responses=COMMON_RESPONSES
)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such session of the caller's"}
}
_Phase = Annotated[str, Path(description=f"one of {', '.join(PHASES)}")]


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=BlindSessionOut,
    responses={
        409: {"model": ErrorOut, "description": "the session id was used before"},
        429: {"model": ErrorOut, "description": "over the pair's blind_sessions_per_hour; see Retry-After"},
    },
)
def start(
    body: BlindSessionIn,
    party: CurrentParty,
    relay: BlindRelayDep,
    parties: PartyStoreDep,
    settings: SettingsDep,
    now_s: Now,
) -> BlindSessionOut:
    """Start a session with ``peer`` under the agreed public parameters."""
    peer = parties.get_party(body.peer)
    try:
        session = start_session(
            relay,
            party.name,
            body.peer,
            body.session,
            body.parameters,
            peer_active=peer is not None and peer.is_active,
            per_pair_per_hour=settings.blind_sessions_per_hour,
            ttl_s=settings.blind_session_ttl_s,
            now_s=now_s,
        )
    except BlindRateError as exc:
        retry_after_s = max(1, round(exc.retry_after_s))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(retry_after_s)}
        ) from exc
    return BlindSessionOut.of(session)


@router.get("/sessions/{session}", response_model=BlindSessionOut, responses=_NOT_FOUND)
def status_of(
    session: str, party: CurrentParty, relay: BlindRelayDep, settings: SettingsDep, now_s: Now
) -> BlindSessionOut:
    """The session: its parties, parameters and which phases each has posted."""
    return BlindSessionOut.of(
        session_for(relay, session, party.name, ttl_s=settings.blind_session_ttl_s, now_s=now_s)
    )


@router.put(
    "/sessions/{session}/messages/{phase}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_NOT_FOUND, 409: {"model": ErrorOut, "description": "this phase was already posted"}},
)
async def post(
    session: str,
    phase: _Phase,
    request: Request,
    party: CurrentParty,
    relay: BlindRelayDep,
    settings: SettingsDep,
    now_s: Now,
) -> Response:
    """Post the caller's message of ``phase`` (the request body, as is) for the other party, once."""
    body = await request.body()
    post_message(relay, session, party.name, phase, body, ttl_s=settings.blind_session_ttl_s, now_s=now_s)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/sessions/{session}/messages/{phase}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "the other party's message, as posted",
        },
        **_NOT_FOUND,
    },
)
def fetch(
    session: str, phase: _Phase, party: CurrentParty, relay: BlindRelayDep, settings: SettingsDep, now_s: Now
) -> Response:
    """The other party's message of ``phase``, addressed to the caller (404 until it is posted)."""
    found = dict(fetch_messages(relay, session, party.name, ttl_s=settings.blind_session_ttl_s, now_s=now_s))
    if phase not in found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"blind session {session!r}: no {phase} for you yet")
    return Response(found[phase], media_type="application/octet-stream")


@router.delete("/sessions/{session}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
def end(
    session: str, party: CurrentParty, relay: BlindRelayDep, settings: SettingsDep, now_s: Now
) -> Response:
    """End the session for both parties: every message of it is deleted."""
    end_session(relay, session, party.name, ttl_s=settings.blind_session_ttl_s, now_s=now_s)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
