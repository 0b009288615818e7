"""What the resources' state changes share: one transaction for a change and its entries; alarms pushed."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from deconflict.channel.audit import AuditLog, SharedTransaction
from deconflict.channel.events import Event, EventKind, EventSink
from deconflict.channel.ledger import LedgerEntry

__all__ = ["alarm_events", "present", "publish_events", "record_events", "together"]


def together(audit: AuditLog, *stores: object) -> AbstractContextManager[object]:
    """One transaction for a change in ``stores`` and its entries, where the storage offers it."""
    if isinstance(audit, SharedTransaction):
        return audit.transaction_with(*stores)
    return nullcontext()


def present(*stores: object) -> tuple[object, ...]:
    """The stores given (those passed as ``None`` left out)."""
    return tuple(s for s in stores if s is not None)


def alarm_events(alarms: Sequence[LedgerEntry]) -> list[Event]:
    """Each probe alarm, pushed to the party it warns (the subject of its ledger entry)."""
    return [Event(EventKind.PROBE_ALARM, a.disclosure.subject, a) for a in alarms]


def record_events(events: EventSink | None, found: Sequence[Event]) -> list[Event]:
    """Inside the transaction of the facts ``found`` reports: store them with it (the sink's outbox
    delivers them once it commits); what is left for :func:`publish_events` after the commit."""
    if events is None or not found:
        return []
    return [] if events.record(found) else list(found)


def publish_events(events: EventSink | None, pending: Sequence[Event]) -> None:
    """After the commit: publish what :func:`record_events` could not store."""
    if events is not None and pending:
        events.publish(pending)
