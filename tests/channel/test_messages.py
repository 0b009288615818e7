"""Hotline messages in the domain: signatures, acknowledgement levels, deadlines and escalation.

Runs on the real stores of both backends (``storage_backend``) and a fake clock (no sleeping).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from deconflict.channel.catalogue import Catalogue, load_catalogue
from deconflict.channel.deadlines import (
    Escalation,
    HotlineStore,
    check_ladder,
    escalations_due,
    is_overdue,
    run_deadlines,
)
from deconflict.channel.keys import generate_key_pair
from deconflict.channel.messages import (
    AckLevel,
    Message,
    MessageContent,
    acknowledge,
    canonical_bytes,
    fetch_box,
    read_message,
    send_message,
    sign_content,
    verify_signature,
)
from deconflict.channel.parties import PartyStore, register_party, revoke_party
from deconflict.errors import AlreadyExistsError, InputError, NotFoundError, TransitionError
from tests.builders import T0_S
from tests.fakes import FakeClock
from tests.storage.backends import Backend

LADDER_S = (0.0, 900.0, 3600.0)
REPLY_BY = "2026-01-01T12:30:00Z"  # T0 + 30 min
REPLY_BY_S = T0_S + 1800.0


@dataclass
class Hotline:
    parties: PartyStore
    messages: HotlineStore
    catalogue: Catalogue
    keys: dict[str, bytes]
    clock: FakeClock

    def content(self, sender: str = "blue", recipient: str = "red", **changes: object) -> MessageContent:
        content = MessageContent(
            sender=sender,
            recipient=recipient,
            code="REQUEST_TO_AMEND",
            params={"operation": "op-17", "change": "raise the lower limit to FL100"},
            text="Просим ответить до 12:30.",
            reply_by=REPLY_BY,
            nonce=f"nonce-{sender}-{self.clock.now:.0f}-0001",
        )
        return replace(content, **changes)  # type: ignore[arg-type]

    def send(self, content: MessageContent | None = None) -> Message:
        content = content or self.content()
        signature = sign_content(content, self.keys[content.sender])
        return send_message(self.messages, self.parties, self.catalogue, content, signature, self.clock.now)


@pytest.fixture
def hotline(storage_backend: Backend) -> Iterator[Hotline]:
    with storage_backend.store("parties") as parties, storage_backend.store("messages") as messages:
        keys = {}
        for name in ("blue", "red", "green", "gone"):
            private_pem = register_party(parties, name, None, T0_S).private_key_pem
            assert private_pem is not None
            keys[name] = private_pem
        revoke_party(parties, "gone", T0_S)
        yield Hotline(parties, messages, load_catalogue(), keys, FakeClock(T0_S))


# --- signatures -------------------------------------------------------------------------------


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    content = MessageContent("blue", "red", "ACKNOWLEDGEMENT", {"message": 3}, "Принято", None, "n" * 16)
    assert (
        canonical_bytes(content)
        == (
            '{"code":"ACKNOWLEDGEMENT","from":"blue","nonce":"nnnnnnnnnnnnnnnn","params":{"message":3},'
            '"reply_by":null,"text":"Принято","to":"red"}'
        ).encode()
    )


def test_a_signed_message_is_stored_with_its_signature_and_reverifies(hotline: Hotline) -> None:
    sent = hotline.send()
    stored = hotline.messages.get_message(sent.id)
    assert stored is not None
    assert stored.content == sent.content and stored.signature == sent.signature
    assert stored.level is AckLevel.SENT and stored.created_s == T0_S
    blue = hotline.parties.get_party("blue")
    assert blue is not None
    verify_signature(stored.content, stored.signature, blue.public_key_pem)  # anyone can check it later
    assert len(base64.b64decode(stored.signature)) == 64


@pytest.mark.parametrize(
    "tamper",
    [
        {"text": "Просим ответить до 13:30."},
        {"params": {"operation": "op-17", "change": "withdraw"}},
        {"reply_by": "2026-01-01T13:30:00Z"},
        {"recipient": "green"},
        {"code": "REQUEST_CLARIFICATION", "params": {"subject": "x"}},
        {"nonce": "another-nonce-0000000"},
    ],
    ids=["text", "params", "reply_by", "recipient", "code", "nonce"],
)
def test_a_tampered_body_is_rejected(hotline: Hotline, tamper: dict[str, object]) -> None:
    signed = hotline.content()
    signature = sign_content(signed, hotline.keys["blue"])
    tampered = replace(signed, **tamper)  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        send_message(
            hotline.messages, hotline.parties, hotline.catalogue, tampered, signature, hotline.clock.now
        )
    (problem,) = caught.value.problems
    assert problem.field == "signature"
    assert problem.message.startswith("does not verify with the registered public key of 'blue': sign")
    assert hotline.messages.list_messages("blue", "outbox") == []


def test_a_signature_by_another_partys_key_is_rejected(hotline: Hotline) -> None:
    content = hotline.content()
    for key in (hotline.keys["red"], generate_key_pair()[0]):
        signature = sign_content(content, key)
        with pytest.raises(InputError, match="signature: does not verify"):
            send_message(hotline.messages, hotline.parties, hotline.catalogue, content, signature, T0_S)


def test_a_signature_that_is_not_base64_is_rejected(hotline: Hotline) -> None:
    with pytest.raises(InputError, match="signature: not base64"):
        send_message(hotline.messages, hotline.parties, hotline.catalogue, hotline.content(), "%%%", T0_S)


def test_a_reused_nonce_is_refused(hotline: Hotline) -> None:
    hotline.send()
    with pytest.raises(AlreadyExistsError, match="nonce"):
        hotline.send()


def test_every_content_problem_is_reported_with_its_field(hotline: Hotline) -> None:
    content = hotline.content(
        recipient="nobody",
        params={"operation": "op-17"},
        reply_by="2026-01-01T11:00:00Z",
        nonce="short",
    )
    with pytest.raises(InputError) as caught:
        hotline.send(content)
    assert {p.field for p in caught.value.problems} == {"to", "nonce", "reply_by", "params"}
    for recipient in ("blue", "gone", "Not A Name"):
        with pytest.raises(InputError, match="to: "):
            hotline.send(hotline.content(recipient=recipient))
    with pytest.raises(InputError, match="reply_by: not an RFC 3339 time"):
        hotline.send(hotline.content(reply_by="tomorrow noon"))


# --- acknowledgement levels ---------------------------------------------------------------------


def test_levels_move_forward_delivered_read_accepted(hotline: Hotline) -> None:
    sent = hotline.send()
    hotline.clock.advance(60)
    (delivered,) = fetch_box(hotline.messages, "red", "inbox", hotline.clock.now)
    assert (delivered.level, delivered.delivered_s) == (AckLevel.DELIVERED, T0_S + 60)
    # The sender's outbox shows the delivery; fetching it delivers nothing new.
    (outbox,) = fetch_box(hotline.messages, "blue", "outbox", hotline.clock.now)
    assert outbox.level is AckLevel.DELIVERED
    hotline.clock.advance(60)
    read = acknowledge(hotline.messages, sent.id, "red", AckLevel.READ, None, hotline.clock.now)
    assert (read.level, read.read_s, read.answered_s) == (AckLevel.READ, T0_S + 120, None)
    hotline.clock.advance(60)
    accepted = acknowledge(
        hotline.messages, sent.id, "red", AckLevel.ACCEPTED, " will do ", hotline.clock.now
    )
    assert (accepted.level, accepted.answered_s, accepted.reason) == (
        AckLevel.ACCEPTED,
        T0_S + 180,
        "will do",
    )
    assert hotline.messages.get_message(sent.id) == accepted
    for level in (AckLevel.READ, AckLevel.ACCEPTED, AckLevel.DISPUTED):
        with pytest.raises(TransitionError, match="only move forward") as caught:
            acknowledge(hotline.messages, sent.id, "red", level, "why", hotline.clock.now)
        assert caught.value.current == "accepted"


def test_disputing_straight_away_fills_the_levels_skipped(hotline: Hotline) -> None:
    sent = hotline.send()
    disputed = acknowledge(
        hotline.messages, sent.id, "red", AckLevel.DISPUTED, "our plan has priority", T0_S + 5
    )
    assert disputed.level is AckLevel.DISPUTED
    assert disputed.delivered_s == disputed.read_s == disputed.answered_s == T0_S + 5
    assert disputed.reason == "our plan has priority"


def test_a_dispute_needs_a_reason_and_delivered_is_not_a_choice(hotline: Hotline) -> None:
    sent = hotline.send()
    for reason in (None, "", "   "):
        with pytest.raises(InputError, match="reason: a dispute needs a reason"):
            acknowledge(hotline.messages, sent.id, "red", AckLevel.DISPUTED, reason, T0_S)
    with pytest.raises(InputError, match="level: must be read, accepted or disputed"):
        acknowledge(hotline.messages, sent.id, "red", AckLevel.DELIVERED, None, T0_S)


@pytest.mark.parametrize("party", ["blue", "green"])
def test_only_the_recipient_acknowledges(hotline: Hotline, party: str) -> None:
    sent = hotline.send()
    with pytest.raises(NotFoundError):
        acknowledge(hotline.messages, sent.id, party, AckLevel.READ, None, T0_S)
    with pytest.raises(NotFoundError):
        acknowledge(hotline.messages, sent.id + 1000, "red", AckLevel.READ, None, T0_S)


def test_a_third_party_cannot_read_and_reading_delivers_only_for_the_recipient(hotline: Hotline) -> None:
    sent = hotline.send()
    with pytest.raises(NotFoundError, match=f"no message {sent.id}"):
        read_message(hotline.messages, sent.id, "green", T0_S)
    assert read_message(hotline.messages, sent.id, "blue", T0_S).level is AckLevel.SENT
    assert read_message(hotline.messages, sent.id, "red", T0_S + 1).level is AckLevel.DELIVERED
    assert fetch_box(hotline.messages, "green", "inbox", T0_S) == []
    assert fetch_box(hotline.messages, "green", "outbox", T0_S) == []


def test_boxes_filter_by_level_and_overdue(hotline: Hotline) -> None:
    first = hotline.send()
    second = hotline.send(hotline.content(nonce="second-message-nonce", reply_by=None))
    fetch_box(hotline.messages, "red", "inbox", T0_S)
    acknowledge(hotline.messages, first.id, "red", AckLevel.READ, None, T0_S)
    assert [m.id for m in fetch_box(hotline.messages, "red", "inbox", T0_S, AckLevel.READ)] == [first.id]
    assert [m.id for m in fetch_box(hotline.messages, "red", "inbox", T0_S, AckLevel.DELIVERED)] == [
        second.id
    ]
    run_deadlines(hotline.messages, REPLY_BY_S, LADDER_S)
    assert [m.id for m in fetch_box(hotline.messages, "blue", "outbox", T0_S, overdue=True)] == [first.id]
    assert [m.id for m in fetch_box(hotline.messages, "blue", "outbox", T0_S, overdue=False)] == [second.id]


# --- deadlines and escalation -------------------------------------------------------------------


def test_the_ladder_escalates_step_by_step_to_both_sides_idempotently(hotline: Hotline) -> None:
    sent = hotline.send()
    clock = hotline.clock
    clock.now = REPLY_BY_S - 1
    assert run_deadlines(hotline.messages, clock.now, LADDER_S) == []
    assert hotline.messages.get_message(sent.id).overdue_s is None  # type: ignore[union-attr]

    clock.now = REPLY_BY_S
    (first,) = run_deadlines(hotline.messages, clock.now, LADDER_S)
    assert first == Escalation(sent.id, "REQUEST_TO_AMEND", "blue", "red", 0, REPLY_BY_S, REPLY_BY_S)
    assert hotline.messages.get_message(sent.id).overdue_s == REPLY_BY_S  # type: ignore[union-attr]
    for party in ("blue", "red"):
        assert hotline.messages.list_escalations(party) == [first]
    assert hotline.messages.list_escalations("green") == []

    clock.advance(899)
    run_deadlines(hotline.messages, clock.now, LADDER_S)
    run_deadlines(hotline.messages, clock.now, LADDER_S)  # again: nothing new
    assert hotline.messages.list_escalations("red") == [first]

    clock.now = REPLY_BY_S + 7200  # the server was away: both later steps at once, due when they were due
    run_deadlines(hotline.messages, clock.now, LADDER_S)
    recorded = hotline.messages.list_escalations("blue")
    assert [(e.step, e.due_s, e.recorded_s) for e in recorded] == [
        (0, REPLY_BY_S, REPLY_BY_S),
        (1, REPLY_BY_S + 900, REPLY_BY_S + 7200),
        (2, REPLY_BY_S + 3600, REPLY_BY_S + 7200),
    ]
    clock.advance(86400)
    run_deadlines(hotline.messages, clock.now, LADDER_S)
    assert hotline.messages.list_escalations("blue") == recorded  # the ladder has three steps


def test_an_answer_stops_the_ladder_but_keeps_the_message_overdue(hotline: Hotline) -> None:
    sent = hotline.send()
    run_deadlines(hotline.messages, REPLY_BY_S + 60, LADDER_S)
    accepted = acknowledge(hotline.messages, sent.id, "red", AckLevel.ACCEPTED, None, REPLY_BY_S + 120)
    run_deadlines(hotline.messages, REPLY_BY_S + 86400, LADDER_S)
    assert [e.step for e in hotline.messages.list_escalations("red")] == [0]
    assert is_overdue(accepted, REPLY_BY_S + 86400)
    assert hotline.messages.get_message(sent.id).overdue_s == REPLY_BY_S  # type: ignore[union-attr]


def test_an_answer_in_time_never_escalates(hotline: Hotline) -> None:
    sent = hotline.send()
    answered = acknowledge(hotline.messages, sent.id, "red", AckLevel.DISPUTED, "no", REPLY_BY_S - 1)
    assert run_deadlines(hotline.messages, REPLY_BY_S + 86400, LADDER_S) == []
    assert not is_overdue(answered, REPLY_BY_S + 86400)
    assert hotline.messages.get_message(sent.id).overdue_s is None  # type: ignore[union-attr]


def test_reading_is_not_answering(hotline: Hotline) -> None:
    sent = hotline.send()
    acknowledge(hotline.messages, sent.id, "red", AckLevel.READ, None, T0_S + 1)
    assert len(run_deadlines(hotline.messages, REPLY_BY_S, LADDER_S)) == 1


def test_escalations_due_is_pure_and_independent_of_when_it_runs() -> None:
    content = MessageContent("blue", "red", "FREE", {}, "x", REPLY_BY, "n" * 16)
    message = Message(id=1, content=content, signature="", created_s=T0_S, answered_s=REPLY_BY_S + 1000)
    late = escalations_due([message], REPLY_BY_S + 99999, LADDER_S)
    assert [(e.step, e.due_s) for e in late] == [(0, REPLY_BY_S), (1, REPLY_BY_S + 900)]
    no_deadline = replace(message, content=replace(content, reply_by=None))
    assert escalations_due([no_deadline], REPLY_BY_S + 99999, LADDER_S) == []


@pytest.mark.parametrize("ladder", [[], [-1.0], [0.0, 0.0], [900.0, 60.0]])
def test_a_bad_ladder_is_refused(ladder: list[float]) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        check_ladder(ladder)
