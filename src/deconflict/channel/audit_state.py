"""Replaying the audit log against the stored state: what the log says must be what is stored.

A verified chain proves that its entries are the ones the server signed; it
says nothing of rows changed beside it. Replaying it gives, for every message,
operation and conflict, the state the log says it is in, and
:func:`verify_state` compares that with the store: a message set to
``accepted`` that its recipient never accepted, an operation's version or
state edited, a conflict's lifecycle moved, an object without its entries or
entries without their object, is named.

What the log says
-----------------
- a message: ``sent`` at ``message_sent``, ``delivered`` at ``message_delivered``,
  then the ``level`` of each ``message_acknowledged`` (the last one counts);
- an operation (``party/id``): the ``version`` and ``state`` of its last
  ``operation_filed``, ``operation_updated``, ``operation_withdrawn``,
  ``operation_activated``, ``operation_released`` or ``operation_extended``;
- a conflict: ``open`` at ``conflict_found``, then the ``state`` of each
  ``conflict_acknowledged``, ``conflict_accepted`` and ``conflict_resolved``.
"""

from __future__ import annotations

from collections.abc import Iterable

from deconflict.channel.audit import AuditEntry, AuditKind
from deconflict.channel.conflicts import ConflictLifecycle
from deconflict.channel.messages import Message
from deconflict.errors import AuditError
from deconflict.strategic.volume import Operation

__all__ = ["logged_state", "verify_state"]

_OPERATION_KINDS = {
    AuditKind.OPERATION_FILED,
    AuditKind.OPERATION_UPDATED,
    AuditKind.OPERATION_WITHDRAWN,
    AuditKind.OPERATION_ACTIVATED,
    AuditKind.OPERATION_RELEASED,
    AuditKind.OPERATION_EXTENDED,
}
_LIFECYCLE_KINDS = {
    AuditKind.CONFLICT_ACKNOWLEDGED,
    AuditKind.CONFLICT_ACCEPTED,
    AuditKind.CONFLICT_RESOLVED,
}

State = dict[str, tuple[str, int]]
"""What the log says of each object: its name -> (state as text, seq of the entry that says so)."""


def logged_state(entries: Iterable[AuditEntry]) -> State:
    """The state of every message, operation and conflict as the log says it (see the module).

    Keys are ``message #ID``, ``operation PARTY/ID`` and ``conflict #ID``; an
    operation's state is ``version N (STATE)``.
    """
    state: State = {}
    for entry in entries:
        kind, payload = entry.kind, entry.payload
        if kind == AuditKind.MESSAGE_SENT:
            state[f"message #{payload['message_id']}"] = ("sent", entry.seq)
        elif kind in (AuditKind.MESSAGE_DELIVERED, AuditKind.MESSAGE_ACKNOWLEDGED):
            state[f"message #{payload['message_id']}"] = (str(payload["level"]), entry.seq)
        elif kind in _OPERATION_KINDS:
            name = f"operation {entry.actor}/{payload['operation']}"
            state[name] = (f"version {payload['version']} ({payload['state']})", entry.seq)
        elif kind == AuditKind.CONFLICT_FOUND:
            state[f"conflict #{payload['conflict_id']}"] = ("open", entry.seq)
        elif kind in _LIFECYCLE_KINDS:
            state[f"conflict #{payload['conflict_id']}"] = (str(payload["state"]), entry.seq)
    return state


def verify_state(
    entries: Iterable[AuditEntry],
    messages: Iterable[Message],
    operations: Iterable[tuple[str, Operation]],
    conflicts: Iterable[ConflictLifecycle],
) -> int:
    """Check that every stored message, operation and conflict is in the state the log says.

    Parameters
    ----------
    entries
        The whole chain, already verified.
    messages
        Every stored message.
    operations
        Every stored operation (withdrawn ones included), with its party.
    conflicts
        Every stored conflict's lifecycle (resolved ones included).

    Returns
    -------
    int
        The number of objects checked.

    Raises
    ------
    AuditError
        Naming the first object whose stored state differs from the log's, e.g.
        ``message #3: stored level accepted, log says read (entry 12)``; or one
        the log never recorded, or one the log records that is not stored.
    """
    try:
        logged = logged_state(entries)
    except (KeyError, TypeError) as exc:
        raise AuditError(f"an entry lacks a field the replay needs: {exc!r}") from None
    stored: dict[str, tuple[str, str]] = {}
    for message in messages:
        stored[f"message #{message.id}"] = ("level", str(message.level))
    for party, operation in operations:
        name = f"operation {party}/{operation.id}"
        stored[name] = ("", f"version {operation.version} ({operation.state})")
    for lifecycle in conflicts:
        stored[f"conflict #{lifecycle.conflict_id}"] = ("state", str(lifecycle.state))
    for name in sorted(stored.keys() | logged.keys(), key=_order):
        what, value = stored.get(name, ("", None))
        said = logged.get(name)
        label = f"{what} " if what else ""
        if said is None:
            raise AuditError(f"{name}: stored {label}{value}, but the log has no entry of it")
        if value is None:
            raise AuditError(f"{name}: the log says {said[0]} (entry {said[1]}), but it is not stored")
        if value != said[0]:
            raise AuditError(f"{name}: stored {label}{value}, log says {said[0]} (entry {said[1]})")
    return len(stored)


def _order(name: str) -> tuple[str, int, str]:
    """Messages, operations, conflicts; numbers in numeric order."""
    kind, _, rest = name.partition(" ")
    number = rest.removeprefix("#")
    return (kind, int(number) if number.isdigit() else 0, rest)
