"""What the channel service needs from storage, as one bundle: the ``Storage`` protocol.

The domain declares it; ``deconflict.storage`` implements it over one database
(``open_storage``: embedded SQLite by default, PostgreSQL later), so a second
backend is a second implementation of this one protocol. Each member is a
store protocol the domain declares beside the code that uses it; the service
reaches storage only through them, never through a connection.
"""

from __future__ import annotations

from typing import Protocol, Self

from deconflict.channel.audit import AuditLog
from deconflict.channel.blind_relay import BlindRelayStore
from deconflict.channel.cluster import Coordination
from deconflict.channel.conflicts import ConflictStateStore
from deconflict.channel.deadlines import HotlineStore
from deconflict.channel.events import EventOutbox
from deconflict.channel.ledger import DisclosureLedger
from deconflict.channel.live import IncidentStore
from deconflict.channel.parties import PartyStore
from deconflict.channel.zones import ZoneStore
from deconflict.strategic.store import Store

__all__ = ["Storage"]


class Storage(Protocol):
    """Every store the channel service runs on, over one database, closed together.

    Writes of several of its stores can commit together (the audit log's
    :class:`~deconflict.channel.audit.SharedTransaction`): a change is never
    stored without its audit entry. Use it as a context manager, or call
    :meth:`close` once.
    """

    @property
    def operations(self) -> Store:
        """Parties' operations, their volumes and the conflicts found between them."""
        ...

    @property
    def parties(self) -> PartyStore:
        """Parties, their public keys and token hashes."""
        ...

    @property
    def messages(self) -> HotlineStore:
        """Hotline messages, their deadlines and escalations."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The signed audit chain."""
        ...

    @property
    def conflict_states(self) -> ConflictStateStore:
        """Each conflict's lifecycle: acknowledgements, acceptances, resolution."""
        ...

    @property
    def incidents(self) -> IncidentStore:
        """Incidents, their comments and the alert log (the tactical history)."""
        ...

    @property
    def ledger(self) -> DisclosureLedger:
        """What each party was told about another."""
        ...

    @property
    def zones(self) -> ZoneStore:
        """Geographical zones published by parties (public to every party)."""
        ...

    @property
    def outbox(self) -> EventOutbox:
        """Every party event, numbered, stored with the fact it reports."""
        ...

    def coordination(self, node: str) -> Coordination | None:
        """What the nodes sharing this database share, as node ``node`` sees it; ``None`` for a
        database that has one node (it holds every lease and counts its limits itself)."""
        ...

    @property
    def blind(self) -> BlindRelayStore:
        """Blind sessions and their opaque messages, relayed between two parties."""
        ...

    def readiness_problem(self) -> str | None:
        """Why the database cannot serve now (it does not answer, or its schema is not the
        latest), or ``None`` when it can."""
        ...

    def close(self) -> None:
        """Release the database and every store on it."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
