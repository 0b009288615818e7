"""What the resources' state changes share: one transaction for a change and its entries; alarms pushed."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from deconflict.channel.audit import AuditLog, SharedTransaction
from deconflict.channel.events import Event, EventKind
from deconflict.channel.ledger import LedgerEntry

__all__ = ["alarm_events", "present", "together"]


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
