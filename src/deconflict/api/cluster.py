"""This process as one node of a cluster: it holds the scheduler's lease or waits for it, follows tracks.

On a database that nodes share (``Storage.coordination``), the app's lifespan
runs :func:`hold_lease` and :func:`follow_tracks` beside its other loops:

- every ``lease_renew_s`` the node renews the scheduler's lease, or tries to
  take it (it is free, or its holder stopped renewing ``lease_ttl_s`` ago), and
  tells the cluster its event connections are still open. The node that takes
  the lease continues the detection cycle's numbering and open incidents from
  the database; deadline escalation and the cycle run only while it holds it
  (:mod:`deconflict.channel.cluster` for the fencing).
- every node reads the aircraft states posted to the others, in the order
  posted, into its own live picture: whichever node runs the cycle has every
  party's states, and a party reads its own tracks from any node; a node that
  does not run the cycle mirrors the alerts and incidents the holder left.

A node alone on its database (SQLite) runs neither: it always holds the lease.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from deconflict.api.deps import Services
from deconflict.channel.cluster import Lease, SharedConnections, TrackPosts
from deconflict.errors import DeconflictError, StorageUnavailableError

__all__ = ["follow_tracks", "hold_lease"]

_log = logging.getLogger(__name__)

FORGET_EVERY = 50
"""Follow rounds between two clean-ups of old posted states (by the lease's holder)."""


def _renew(lease: Lease, connections: SharedConnections | None) -> bool:
    if connections is not None:
        connections.heartbeat()
    return lease.renew()


async def hold_lease(services: Services, node: str) -> None:
    """Every ``lease_renew_s``, renew (or try to take) the scheduler's lease (runs until cancelled).

    Taking it over, node ``node`` continues the live picture from the database
    first (:meth:`~deconflict.channel.live.LivePicture.take_over`); not holding
    it, the picture shows no alerts or incidents
    (:meth:`~deconflict.channel.live.LivePicture.step_down`); cancelled, it gives
    the lease up so another node need not wait for it to expire.
    """
    lease = services.lease
    settings = services.settings
    live = services.live
    held: bool | None = None  # not known before the first round
    try:
        while True:
            try:
                now_held = await run_in_threadpool(_renew, lease, services.connections)
            except StorageUnavailableError as exc:
                now_held = False
                _log.warning("scheduler lease: cannot renew, not held until the database answers: %s", exc)
            if now_held and not held:
                if live is not None:
                    await run_in_threadpool(live.take_over, services.incidents)
                _log.info(
                    "scheduler lease taken by %s (token %s): deadlines and detection run here",
                    node,
                    lease.token,
                )
            elif not now_held and held is not False:
                if live is not None:  # the holder's alerts and incidents are not kept up to date here
                    live.step_down()
                if held:
                    _log.warning("scheduler lease lost by %s: deadlines and detection stop here", node)
            held = now_held
            await asyncio.sleep(settings.lease_renew_s)
    finally:
        if held:
            try:
                await asyncio.shield(run_in_threadpool(lease.release))
            except DeconflictError as exc:
                _log.warning("scheduler lease: not released (it expires by itself): %s", exc)


async def follow_tracks(services: Services, posts: TrackPosts) -> None:
    """Take the aircraft states posted to other nodes into this node's live picture (runs until cancelled).

    While another node runs the cycle, its alerts and incidents are mirrored too
    (:meth:`~deconflict.channel.live.LivePicture.mirror`), so every node answers
    ``GET /v1/alerts`` and shows foreign aircraft as that node would.

    Every half ``tactical_cycle_s``; on start, those of the last ``tactical_stale_s``
    (older ones would be refused as stale anyway). A post that this node's
    picture refuses (an aircraft cap reached in between) is skipped, as the
    posting node would have refused it. The lease's holder drops old posts now and then.
    """
    live = services.live
    if live is None:
        return
    settings = services.settings
    seq = 0
    rounds = 0
    mirrored_s = 0.0
    while True:
        now_s = services.clock.now_s()
        try:
            found = await run_in_threadpool(posts.since, seq, now_s - settings.tactical_stale_s)
            for post in found:
                seq = post.seq
                try:
                    live.take_columns(post.party, post.states, post.posted_s)
                except DeconflictError as exc:
                    _log.debug("posted states of %r not taken here: %s", post.party, exc)
            mirror = services.live_mirror
            if mirror is not None and not services.lease.held():
                state = await run_in_threadpool(mirror.read, mirrored_s)
                if state is not None and not services.lease.held():
                    live.mirror(state)
                    mirrored_s = state.time_s
            rounds += 1
            if rounds % FORGET_EVERY == 0 and services.lease.held():
                await run_in_threadpool(posts.forget, now_s - 2 * settings.tactical_stale_s)
        except StorageUnavailableError as exc:
            _log.warning("posted states of other nodes not read, retried: %s", exc)
        await asyncio.sleep(settings.tactical_cycle_s / 2)
