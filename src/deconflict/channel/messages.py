"""Hotline messages: signed by their sender, acknowledged by their recipient, level by level.

A message goes from one party to another: a catalogue code, its parameters, free
text and an optional reply deadline. The sender signs :func:`canonical_bytes` of
the content with its Ed25519 key; the server verifies the signature against the
sender's registered public key and keeps it, so neither side can later deny
what it sent.

Acknowledgement levels only move forward::

    sent -> delivered -> read -> accepted | disputed (with a reason)

``delivered`` is set when the recipient fetches the message; the recipient sets
the others. A message that is neither accepted nor disputed by its ``reply_by``
becomes overdue (:mod:`deconflict.channel.deadlines`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.channel.catalogue import Catalogue
from deconflict.channel.parties import PartyStore, check_party_name
from deconflict.errors import InputError, NotFoundError, Problem, TransitionError
from deconflict.strategic.geojson import parse_datetime_s

__all__ = [
    "ANSWERED",
    "MAX_REASON_CHARS",
    "NONCE_PATTERN",
    "AckLevel",
    "Box",
    "Message",
    "MessageContent",
    "MessageStore",
    "acknowledge",
    "canonical_bytes",
    "check_message",
    "fetch_box",
    "read_message",
    "send_message",
    "sign_content",
    "verify_signature",
]

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""A message nonce: 16 to 128 URL-safe characters, unique per sender (it stops replays)."""

MAX_REASON_CHARS = 2000
"""The longest reason a dispute (or acceptance) may give."""

Box = Literal["inbox", "outbox"]


class AckLevel(StrEnum):
    """How far a message has been acknowledged; :attr:`rank` orders the levels."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    ACCEPTED = "accepted"
    DISPUTED = "disputed"

    @property
    def rank(self) -> int:
        """0 sent, 1 delivered, 2 read, 3 accepted or disputed (the two final levels)."""
        return {"sent": 0, "delivered": 1, "read": 2}.get(self.value, 3)


ANSWERED = frozenset({AckLevel.ACCEPTED, AckLevel.DISPUTED})
"""The levels that answer a message (and stop its deadline)."""


@dataclass(frozen=True)
class MessageContent:
    """What the sender signs.

    Attributes
    ----------
    sender, recipient
        Party names (``from`` and ``to`` in the signed encoding).
    code
        A catalogue code.
    params
        The code's parameters (JSON values), valid against its schema.
    text
        Free text, possibly empty.
    reply_by
        RFC 3339 reply deadline exactly as the sender wrote and signed it, or ``None``.
    nonce
        Chosen by the sender, unique among its messages.
    """

    sender: str
    recipient: str
    code: str
    params: Mapping[str, Any]
    text: str
    reply_by: str | None
    nonce: str

    @property
    def reply_by_s(self) -> float | None:
        """The deadline in seconds since the epoch (``reply_by`` must be valid RFC 3339)."""
        return None if self.reply_by is None else parse_datetime_s(self.reply_by)


def canonical_bytes(content: MessageContent) -> bytes:
    """The bytes a message's signature covers.

    UTF-8 of the JSON object ``{code, from, nonce, params, reply_by, text, to}``
    with sorted keys, no whitespace (``separators=(",", ":")``), non-ASCII
    characters as themselves and ``reply_by`` as sent (``null`` when absent).

    Examples
    --------
    >>> content = MessageContent("blue", "red", "FREE", {}, "Привет", None, "n" * 16)
    >>> canonical_bytes(content).decode()
    '{"code":"FREE","from":"blue","nonce":"nnnnnnnnnnnnnnnn","params":{},"reply_by":null,"text":"Привет","to":"red"}'
    """
    document = {
        "from": content.sender,
        "to": content.recipient,
        "code": content.code,
        "params": dict(content.params),
        "text": content.text,
        "reply_by": content.reply_by,
        "nonce": content.nonce,
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign_content(content: MessageContent, private_key_pem: bytes) -> str:
    """The base64 Ed25519 signature of :func:`canonical_bytes` with a PKCS #8 PEM private key.

    Raises
    ------
    InputError
        If the key is not an unencrypted Ed25519 private key.
    """
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError([Problem("private key", f"not an unencrypted PEM private key ({exc})")]) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError([Problem("private key", f"must be an Ed25519 key, got {type(key).__name__}")])
    return base64.b64encode(key.sign(canonical_bytes(content))).decode("ascii")


def verify_signature(content: MessageContent, signature: str, public_key_pem: str) -> None:
    """Check that ``signature`` (base64) is the sender's signature of ``content``.

    Raises
    ------
    InputError
        On the ``signature`` field: not base64, or not made by that key over
        exactly this content.
    """
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise InputError([Problem("request", "not base64", None, "signature")]) from None
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):  # registration admits only Ed25519 keys
        raise InputError([Problem("request", "the sender's key is not Ed25519", None, "signature")])
    try:
        key.verify(raw, canonical_bytes(content))
    except InvalidSignature:
        raise InputError(
            [
                Problem(
                    "request",
                    f"does not verify with the registered public key of {content.sender!r}: "
                    "sign the canonical JSON of {code, from, nonce, params, reply_by, text, to} "
                    "(sorted keys, no spaces, UTF-8) with the party's Ed25519 private key",
                    None,
                    "signature",
                )
            ]
        ) from None


@dataclass(frozen=True)
class Message:
    """A stored message and its acknowledgement state.

    Attributes
    ----------
    id
        Assigned by the store, increasing.
    content, signature
        As signed by the sender (``signature`` is base64 Ed25519).
    created_s
        When the server accepted it, seconds since the epoch.
    level
        The acknowledgement level reached.
    delivered_s, read_s, answered_s
        When each level was reached (``answered_s``: accepted or disputed).
    reason
        The recipient's reason (required when disputed).
    overdue_s
        The deadline, once the message is known to have missed it; else ``None``.
    """

    id: int
    content: MessageContent
    signature: str
    created_s: float
    level: AckLevel = AckLevel.SENT
    delivered_s: float | None = None
    read_s: float | None = None
    answered_s: float | None = None
    reason: str | None = None
    overdue_s: float | None = None

    @property
    def reply_by_s(self) -> float | None:
        """The reply deadline, seconds since the epoch, or ``None``."""
        return self.content.reply_by_s

    def involves(self, party: str) -> bool:
        """Whether ``party`` sent or received the message."""
        return party in (self.content.sender, self.content.recipient)


class MessageStore(Protocol):
    """What the hotline needs from storage."""

    def add_message(self, content: MessageContent, signature: str, created_s: float) -> Message:
        """Store a new message at level ``sent``.

        Raise :class:`~deconflict.errors.AlreadyExistsError` if its sender used its nonce before.
        """
        ...

    def get_message(self, message_id: int) -> Message | None:
        """The message with that id, whoever sent it, or ``None``."""
        ...

    def list_messages(
        self,
        party: str,
        box: Box,
        level: AckLevel | None = None,
        overdue: bool | None = None,
        limit: int | None = None,
        before_id: int | None = None,
    ) -> list[Message]:
        """The party's received (``inbox``) or sent (``outbox``) messages, by id, optionally filtered.

        With ``limit``, only the newest ``limit`` of them (still oldest first); with
        ``before_id``, only those with a smaller id (the page before).
        """
        ...

    def mark_delivered(self, recipient: str, delivered_s: float, message_id: int | None = None) -> None:
        """Move the recipient's ``sent`` messages (or just ``message_id``) to ``delivered``."""
        ...

    def update_state(self, message: Message, expected: AckLevel) -> bool:
        """Write ``message``'s level, times and reason if its stored level is still ``expected``."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


def _check_content(content: MessageContent, parties: PartyStore, catalogue: Catalogue, now_s: float) -> None:
    problems: list[Problem] = []
    try:
        check_party_name(content.recipient)
    except InputError:
        problems.append(Problem("request", f"not a party name: {content.recipient!r}", None, "to"))
    else:
        recipient = parties.get_party(content.recipient)
        if recipient is None or not recipient.is_active:
            problems.append(Problem("request", f"no active party {content.recipient!r}", None, "to"))
        elif content.recipient == content.sender:
            problems.append(Problem("request", "a party cannot send a message to itself", None, "to"))
    if not NONCE_PATTERN.fullmatch(content.nonce):
        problems.append(Problem("request", "must be 16 to 128 of A-Z a-z 0-9 _ -", None, "nonce"))
    if content.reply_by is not None:
        try:
            reply_by_s = parse_datetime_s(content.reply_by)
        except ValueError as exc:
            problems.append(
                Problem("request", f"not an RFC 3339 time {content.reply_by!r}: {exc}", None, "reply_by")
            )
        else:
            if reply_by_s <= now_s:
                problems.append(
                    Problem("request", f"{content.reply_by} is not in the future", None, "reply_by")
                )
    try:
        catalogue.validate(content.code, content.params, content.text)
    except InputError as exc:
        problems.extend(exc.problems)
    try:
        canonical_bytes(content)
    except ValueError:  # JSON admits 1e400, which parses to inf: not signable, not storable
        problems.append(Problem("request", "numbers must be finite", None, "params"))
    if problems:
        raise InputError(problems)


def check_message(
    parties: PartyStore, catalogue: Catalogue, content: MessageContent, signature: str, now_s: float
) -> None:
    """Check and verify a message from ``content.sender`` (the authenticated caller) before it is stored.

    Everything :func:`send_message` checks but its nonce's novelty, which only
    storing it can tell: it needs no write transaction, so a service runs it
    before taking one (it then holds no writer lock while verifying).

    Raises
    ------
    InputError
        Unknown recipient or code, invalid parameters (with field paths), a
        deadline not in the future, or a signature that does not verify.
    NotFoundError
        If the sender is not a party.
    """
    _check_content(content, parties, catalogue, now_s)
    sender = parties.get_party(content.sender)
    if sender is None:
        raise NotFoundError(f"no party {content.sender!r}")
    verify_signature(content, signature, sender.public_key_pem)


def send_message(
    store: MessageStore,
    parties: PartyStore,
    catalogue: Catalogue,
    content: MessageContent,
    signature: str,
    now_s: float,
) -> Message:
    """Check, verify (:func:`check_message`) and store a message from ``content.sender``.

    Raises
    ------
    InputError
        Unknown recipient or code, invalid parameters (with field paths), a
        deadline not in the future, or a signature that does not verify.
    AlreadyExistsError
        If the sender already used the nonce.
    """
    check_message(parties, catalogue, content, signature, now_s)
    return store.add_message(content, signature, now_s)


def read_message(store: MessageStore, message_id: int, party: str, now_s: float) -> Message:
    """A message the party sent or received; the recipient's fetch marks it delivered.

    Raises
    ------
    NotFoundError
        If there is no such message, or the party is on neither side (the same answer).
    """
    message = store.get_message(message_id)
    if message is None or not message.involves(party):
        raise NotFoundError(f"no message {message_id}")
    if party == message.content.recipient and message.level is AckLevel.SENT:
        store.mark_delivered(party, now_s, message_id)
        message = store.get_message(message_id) or message
    return message


def fetch_box(
    store: MessageStore,
    party: str,
    box: Box,
    now_s: float,
    level: AckLevel | None = None,
    overdue: bool | None = None,
) -> list[Message]:
    """The party's inbox or outbox; fetching the inbox marks its new messages delivered."""
    if box == "inbox":
        store.mark_delivered(party, now_s)
    return store.list_messages(party, box, level, overdue)


def _advanced(message: Message, level: AckLevel, reason: str | None, now_s: float) -> Message:
    return replace(
        message,
        level=level,
        delivered_s=message.delivered_s if message.delivered_s is not None else now_s,
        read_s=message.read_s if message.read_s is not None else now_s,
        answered_s=now_s if level in ANSWERED else None,
        reason=reason if level in ANSWERED else None,
    )


def acknowledge(
    store: MessageStore, message_id: int, party: str, level: AckLevel, reason: str | None, now_s: float
) -> Message:
    """Raise a received message to ``level`` (read, accepted or disputed).

    Raises
    ------
    NotFoundError
        If the party is not the message's recipient (its sender, too, cannot
        acknowledge; to anyone else the message does not exist).
    InputError
        If ``level`` is not read, accepted or disputed, or a dispute has no reason.
    TransitionError
        If the message is already at ``level`` or beyond: levels only move forward.
    """
    if level.rank < AckLevel.READ.rank:
        raise InputError(
            [Problem("request", f"must be read, accepted or disputed, not {level}", None, "level")]
        )
    reason = reason.strip() if reason is not None else None
    if level is AckLevel.DISPUTED and not reason:
        raise InputError([Problem("request", "a dispute needs a reason", None, "reason")])
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise InputError(
            [Problem("request", f"{len(reason)} characters; at most {MAX_REASON_CHARS}", None, "reason")]
        )
    while True:
        message = store.get_message(message_id)
        if message is None or message.content.recipient != party:
            raise NotFoundError(f"no message {message_id} received by {party!r}")
        if level.rank <= message.level.rank:
            raise TransitionError(
                f"message {message_id} is {message.level}: it cannot become {level} "
                "(acknowledgement levels only move forward)",
                current=str(message.level),
            )
        updated = _advanced(message, level, reason or None, now_s)
        if store.update_state(updated, expected=message.level):
            return updated
