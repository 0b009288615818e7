"""The blind relay: the server passes a blind session's messages between two parties and learns nothing.

A blind session (:mod:`deconflict.blind`) runs between two parties; the server
only relays. It keeps, per session, the two parties' names, the public
parameters they agreed (as the initiator states them) and each message as an
opaque blob under its phase and sender: it never opens, parses or logs one.
Each party posts each phase once; a blob is deleted with its session, when a
party ends it or when its time to live passes. Sessions per pair of parties are
bounded per hour, so that a party cannot probe another's activity with huge
covers session after session; a blob is bounded by the request size limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from deconflict.errors import AlreadyExistsError, DeconflictError, InputError, NotFoundError, Problem

__all__ = [
    "PHASES",
    "BlindRateError",
    "BlindRelayStore",
    "RelaySession",
    "end_session",
    "fetch_messages",
    "post_message",
    "rate_error",
    "rate_window_start",
    "session_for",
    "start_session",
]

PHASES = ("hello", "blinded", "reblinded", "done")
"""The phases each party posts once, in this order: the protocol's three
(:class:`deconflict.blind.Phase`), then ``done`` once it has its result (the second
``done`` lets its poster end the session, knowing the other fetched all it needed)."""

_RATE_WINDOW_S = 3600.0
_MAX_SESSION_ID = 128
_MAX_PARAMETERS = 4096


class BlindRateError(DeconflictError):
    """A pair of parties started more sessions in the last hour than the server allows."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RelaySession:
    """What the server knows of a blind session: who, the public parameters, when, which phases arrived."""

    session_id: str
    initiator: str
    peer: str
    parameters: str
    started_s: float
    posted: tuple[tuple[str, str], ...] = ()
    """(sender, phase) of each message still held, in the order they arrived."""

    def other(self, party: str) -> str:
        """The session's other party."""
        return self.peer if party == self.initiator else self.initiator


class BlindRelayStore(Protocol):
    """Where the relay keeps sessions and their opaque messages (storage implements it)."""

    def create(self, session: RelaySession, per_pair_per_hour: int) -> None:
        """Store a new session, counting the pair's in the same transaction (concurrent starts
        cannot pass the bound together).

        Raises
        ------
        AlreadyExistsError
            Its id was ever used.
        BlindRateError
            The pair started ``per_pair_per_hour`` sessions in the hour before it (:func:`rate_error`).
        """
        ...

    def session(self, session_id: str) -> RelaySession | None:
        """A live session (not ended, not expired), with the phases posted."""
        ...

    def started_since(self, party_a: str, party_b: str, since_s: float) -> list[float]:
        """When sessions between the two parties (either way round) started at or after ``since_s``."""
        ...

    def put(self, session_id: str, sender: str, phase: str, body: bytes, now_s: float) -> bool:
        """Keep ``body`` as ``sender``'s message of ``phase``; ``False`` if it already posted that phase."""
        ...

    def messages(self, session_id: str, sender: str) -> list[tuple[str, bytes]]:
        """``sender``'s messages (phase, body) in the order they were posted."""
        ...

    def end(self, session_id: str, now_s: float) -> bool:
        """Delete the session's messages and mark it ended; whether it was live."""
        ...

    def expire(self, before_s: float, now_s: float) -> int:
        """End every session started before ``before_s`` (its messages deleted); how many."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


def _bad(message: str, field: str) -> InputError:
    return InputError([Problem("request", message, None, field)])


def _live(store: BlindRelayStore, session_id: str, party: str, ttl_s: float, now_s: float) -> RelaySession:
    store.expire(now_s - ttl_s, now_s)
    session = store.session(session_id)
    if session is None or party not in (session.initiator, session.peer):
        # Another party's session is not found either: its existence is none of the caller's business.
        raise NotFoundError(f"no blind session {session_id!r} of yours")
    return session


def start_session(
    store: BlindRelayStore,
    party: str,
    peer: str,
    session_id: str,
    parameters: str,
    *,
    peer_active: bool,
    per_pair_per_hour: int,
    ttl_s: float,
    now_s: float,
) -> RelaySession:
    """Open a session between ``party`` and ``peer`` under the parameters they agreed.

    Raises
    ------
    InputError
        The peer is the caller or not an active party, or the id or parameters are malformed.
    AlreadyExistsError
        The session id was used before (ids are never reused: a replay across runs stays visible).
    BlindRateError
        The pair started ``per_pair_per_hour`` sessions in the last hour.
    """
    if peer == party or not peer_active:
        raise _bad(f"no other party {peer!r} to start a blind session with", "peer")
    if not (1 <= len(session_id) <= _MAX_SESSION_ID and session_id.isascii() and session_id.isprintable()):
        raise _bad("a session id is 1 to 128 printable ASCII characters", "session")
    if not 1 <= len(parameters) <= _MAX_PARAMETERS:
        raise _bad(f"parameters are 1 to {_MAX_PARAMETERS} characters", "parameters")
    store.expire(now_s - ttl_s, now_s)
    session = RelaySession(session_id, party, peer, parameters, now_s)
    store.create(session, per_pair_per_hour)
    return session


def rate_window_start(now_s: float) -> float:
    """Sessions started after this (the hour before ``now_s``) count against the pair's bound."""
    return now_s - _RATE_WINDOW_S


def rate_error(
    session: RelaySession, started_s: list[float], per_pair_per_hour: int
) -> BlindRateError | None:
    """The error refusing ``session`` when its pair started ``per_pair_per_hour`` sessions
    (at ``started_s``) in the hour before it, else ``None`` (the stores' ``create`` raises it)."""
    if len(started_s) < per_pair_per_hour:
        return None
    started = sorted(started_s)
    retry_s = started[len(started) - per_pair_per_hour] + _RATE_WINDOW_S - session.started_s
    return BlindRateError(
        f"{session.initiator!r} and {session.peer!r} started {len(started)} blind sessions in the last "
        f"hour (blind_sessions_per_hour is {per_pair_per_hour})",
        max(retry_s, 1.0),
    )


def session_for(
    store: BlindRelayStore, session_id: str, party: str, *, ttl_s: float, now_s: float
) -> RelaySession:
    """The session as ``party`` (one of its two) may see it; :class:`NotFoundError` otherwise."""
    return _live(store, session_id, party, ttl_s, now_s)


def post_message(
    store: BlindRelayStore,
    session_id: str,
    party: str,
    phase: str,
    body: bytes,
    *,
    ttl_s: float,
    now_s: float,
) -> None:
    """Keep ``party``'s message of ``phase`` for the other party; each phase once, never opened.

    Raises
    ------
    NotFoundError
        Not a live session of the caller's.
    InputError
        An unknown phase or an empty body.
    AlreadyExistsError
        The caller already posted this phase.
    """
    _live(store, session_id, party, ttl_s, now_s)
    if phase not in PHASES:
        raise _bad(f"phase must be one of {', '.join(PHASES)}", "phase")
    if not body:
        raise _bad("an empty message", "body")
    if not store.put(session_id, party, phase, body, now_s):
        raise AlreadyExistsError(f"blind session {session_id!r}: {phase} already posted")


def fetch_messages(
    store: BlindRelayStore, session_id: str, party: str, *, ttl_s: float, now_s: float
) -> list[tuple[str, bytes]]:
    """The messages the other party posted in the session, addressed to ``party``, in order."""
    session = _live(store, session_id, party, ttl_s, now_s)
    return store.messages(session_id, session.other(party))


def end_session(store: BlindRelayStore, session_id: str, party: str, *, ttl_s: float, now_s: float) -> None:
    """End the session for both parties: every message of it is deleted."""
    _live(store, session_id, party, ttl_s, now_s)
    store.end(session_id, now_s)
