"""Reply deadlines and escalation: which messages are overdue at a given time, and who hears.

A message not accepted or disputed by its ``reply_by`` is overdue. Past the
deadline, an escalation ladder (offsets in seconds, e.g. ``(0, 900, 3600)``)
raises one escalation per step to both sides. :func:`escalations_due` is a pure
function of the messages and the time; :func:`run_deadlines` records its result
and is idempotent, so it may run on every request and again later.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from deconflict.channel.messages import Message, MessageStore

__all__ = [
    "Clock",
    "DeadlineStore",
    "Escalation",
    "HotlineStore",
    "SystemClock",
    "check_ladder",
    "escalations_due",
    "is_overdue",
    "run_deadlines",
]


class Clock(Protocol):
    """Where the channel gets the time: the system clock in production, a fake one in tests."""

    def now_s(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The real clock (``time.time``)."""

    def now_s(self) -> float:
        """Seconds since the Unix epoch, now."""
        return time.time()


@dataclass(frozen=True)
class Escalation:
    """One step of the escalation ladder reached by an unanswered message; both sides see it.

    Attributes
    ----------
    message_id, code
        The message and its catalogue code.
    sender, recipient
        The two sides, both of which are told.
    step
        0 for the first step of the ladder (at the deadline, usually), 1, 2, ...
    due_s
        When the step was reached: the deadline plus the step's offset.
    recorded_s
        When the channel noticed (the first time it ran past ``due_s``).
    """

    message_id: int
    code: str
    sender: str
    recipient: str
    step: int
    due_s: float
    recorded_s: float


class DeadlineStore(Protocol):
    """What deadlines need from storage (the message store implements it)."""

    def messages_past_deadline(self, now_s: float, steps: int) -> list[Message]:
        """Messages whose deadline is at or before ``now_s``, not answered by it, and
        with fewer than ``steps`` escalations recorded."""
        ...

    def record_escalations(self, overdue: Sequence[Message], escalations: Sequence[Escalation]) -> None:
        """Mark ``overdue`` messages overdue (at their deadline) and add the escalations not
        recorded yet (a repeated one keeps its first ``recorded_s``)."""
        ...

    def list_escalations(self, party: str) -> list[Escalation]:
        """Escalations of messages the party sent or received, oldest first."""
        ...

    def count_waiting_overdue(self, now_s: float) -> int:
        """Messages (all parties) whose deadline is at or before ``now_s`` and still unanswered."""
        ...


def check_ladder(ladder_s: Sequence[float]) -> tuple[float, ...]:
    """``ladder_s`` as a tuple if it is a valid escalation ladder.

    Raises
    ------
    ValueError
        Unless it is non-empty, non-negative and strictly increasing.

    Examples
    --------
    >>> check_ladder([0, 900, 3600])
    (0.0, 900.0, 3600.0)
    """
    steps = tuple(float(s) for s in ladder_s)
    if not steps or steps[0] < 0.0 or any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError(
            f"an escalation ladder is non-empty, >= 0 and strictly increasing, got {list(steps)}"
        )
    return steps


def is_overdue(message: Message, now_s: float) -> bool:
    """Whether the message had a deadline at or before ``now_s`` and was not answered by it."""
    deadline_s = message.reply_by_s
    if deadline_s is None or deadline_s > now_s:
        return False
    return message.answered_s is None or message.answered_s > deadline_s


def escalations_due(messages: Iterable[Message], now_s: float, ladder_s: Sequence[float]) -> list[Escalation]:
    """Every escalation step reached by ``now_s``, of every message (pure).

    A step at ``deadline + offset`` is reached when that time is at or before
    ``now_s`` and the message had not been answered by then, so the result does
    not depend on when (or how often) the function runs.
    """
    found = []
    for message in messages:
        deadline_s = message.reply_by_s
        if deadline_s is None:
            continue
        for step, offset_s in enumerate(ladder_s):
            due_s = deadline_s + offset_s
            if due_s > now_s or (message.answered_s is not None and message.answered_s <= due_s):
                break
            found.append(
                Escalation(
                    message.id,
                    message.content.code,
                    message.content.sender,
                    message.content.recipient,
                    step,
                    due_s,
                    now_s,
                )
            )
    return found


def run_deadlines(store: DeadlineStore, now_s: float, ladder_s: Sequence[float]) -> list[Escalation]:
    """Mark overdue messages and record the escalations reached by ``now_s`` (idempotent).

    Returns the escalations reached, whether recorded now or before.
    """
    candidates = [m for m in store.messages_past_deadline(now_s, len(ladder_s)) if is_overdue(m, now_s)]
    escalations = escalations_due(candidates, now_s, ladder_s)
    if candidates:
        store.record_escalations(candidates, escalations)
    return escalations


class HotlineStore(MessageStore, DeadlineStore, Protocol):
    """A store of messages that also keeps their deadlines and escalations."""
