"""Several nodes on one database: who runs the scheduled work, and limits that hold for the cluster.

The channel's scheduled work (deadline escalation, the tactical detection
cycle) runs on one node at a time: the holder of a :class:`Lease`. A lease has
a time to live and a fencing token; its holder renews it well within the time
to live, and when the holder dies another node takes it once it expires, with
the next token. A write made for the lease checks it (:meth:`Lease.fence`) in
the same transaction, so a node that lost its lease (paused past the time to
live, cut off from the database) writes nothing more in its name.

A party's hotline rate (:class:`SharedRate`) and its event connections
(:class:`SharedConnections`) are counted in the database too, so the limits
are the same whichever nodes the party talks to.

Storage offers these (:class:`Coordination`) when nodes can share it
(PostgreSQL); an embedded database has one node, which always holds every
lease (:class:`SoleHolder`) and counts in its own memory.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Protocol

from deconflict.channel.live.picture import PictureState
from deconflict.channel.live.tracks import StateColumns
from deconflict.errors import DeconflictError

__all__ = [
    "SCHEDULER_LEASE",
    "Coordination",
    "Lease",
    "LeaseLostError",
    "LiveMirror",
    "SharedConnections",
    "SharedRate",
    "SoleHolder",
    "TrackPost",
    "TrackPosts",
    "default_node_name",
]

SCHEDULER_LEASE = "scheduler"
"""The lease of the scheduled work: deadline escalation and the detection cycle."""


class LeaseLostError(DeconflictError):
    """This node no longer holds the lease it wrote for: the write was rolled back."""


class Lease(Protocol):
    """One named lease held by at most one node at a time."""

    @property
    def token(self) -> int | None:
        """The fencing token of this node's tenure (grows with every new holder); ``None`` when not held."""
        ...

    def renew(self) -> bool:
        """Take the lease if it is free or expired, or extend it if this node holds it; whether it does now.

        Raises
        ------
        StorageUnavailableError
            The database cannot be reached: the lease is not held from then on.
        """
        ...

    def held(self) -> bool:
        """Whether this node holds the lease now (renewed within its time to live, by this node's clock)."""
        ...

    def fence(self) -> None:
        """Inside a write transaction: check that this node still holds the lease with its token.

        The check holds until the transaction ends: no other node takes the
        lease before this transaction commits or rolls back.

        Raises
        ------
        LeaseLostError
            Another node holds it, or it expired: the caller's transaction is to roll back.
        """
        ...

    def release(self) -> None:
        """Give the lease up (a node that stops), so another takes it without waiting for it to expire."""
        ...


class SharedRate(Protocol):
    """At most ``limit`` events per key in any window, counted over every node."""

    limit: int

    def admit(self, key: str, now_s: float) -> float | None:
        """Count one event of ``key`` at ``now_s``: ``None`` if admitted, else seconds until one would be."""
        ...

    def admit_many(self, key: str, count: int, now_s: float) -> tuple[int, float | None]:
        """Count up to ``count`` events of ``key`` at ``now_s`` at once: how many were admitted (the
        first ones), and for the rest the seconds until one would be (``None`` when all were)."""
        ...


class SharedConnections(Protocol):
    """Each party's open event connections over every node (a node that dies stops counting)."""

    def open(self, party: str, limit: int) -> int | None:
        """Count a new connection of ``party``: its id, or ``None`` when the party already holds ``limit``."""
        ...

    def close(self, connection_id: int) -> None:
        """The connection ended: it no longer counts."""
        ...

    def heartbeat(self) -> None:
        """This node is alive: its connections keep counting (they stop once it misses a time to live)."""
        ...


@dataclass(frozen=True)
class TrackPost:
    """One batch of aircraft states a party posted to some node: its number, the party, when, the states."""

    seq: int
    party: str
    posted_s: float
    states: StateColumns


class TrackPosts(Protocol):
    """Aircraft states posted to any node, kept for the others (the detection cycle runs on one)."""

    def append(self, party: str, states: StateColumns, posted_s: float) -> None:
        """Keep one post of ``party``'s states, made at ``posted_s``."""
        ...

    def last_seq(self) -> int:
        """The number of the latest post (0 before any)."""
        ...

    def since(self, seq: int, from_s: float) -> list[TrackPost]:
        """Other nodes' posts after number ``seq`` and made at ``from_s`` or later, oldest first."""
        ...

    def forget(self, before_s: float) -> None:
        """Drop posts made before ``before_s`` (stale for every node)."""
        ...


class LiveMirror(Protocol):
    """The live picture's alerts and incidents as the cycle's node left them, for the other nodes."""

    def write(self, state: PictureState) -> None:
        """Keep ``state`` (the latest cycle's) in place of the one before."""
        ...

    def read(self, after_s: float) -> PictureState | None:
        """The state kept, if it is of a cycle after ``after_s`` (else ``None``)."""
        ...


class Coordination(Protocol):
    """What the nodes of a cluster share through their database, as one node (``node``) sees it."""

    node: str

    def lease(self, name: str, ttl_s: float) -> Lease:
        """The lease called ``name``, as held by this node for ``ttl_s`` seconds per renewal."""
        ...

    def rate(self, name: str, limit: int, window_s: float) -> SharedRate:
        """The cluster's limit called ``name``: ``limit`` events per key in any ``window_s``."""
        ...

    def connections(self, ttl_s: float) -> SharedConnections:
        """The cluster's event connections; a node's stop counting once it misses heartbeats for ``ttl_s``."""
        ...

    def track_posts(self) -> TrackPosts:
        """The aircraft states posted to every node."""
        ...

    def live_mirror(self) -> LiveMirror:
        """The alerts and incidents of the node that runs the cycle."""
        ...


class SoleHolder:
    """The lease of a node that is alone on its database: always held, never lost.

    Examples
    --------
    >>> lease = SoleHolder()
    >>> lease.renew(), lease.held(), lease.token
    (True, True, 1)
    >>> lease.fence()
    """

    token = 1

    def renew(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def fence(self) -> None:
        return None

    def release(self) -> None:
        return None


def default_node_name() -> str:
    """This process's name in a cluster when none is set: ``host:pid`` (unique while it runs)."""
    return f"{socket.gethostname()}:{os.getpid()}"
