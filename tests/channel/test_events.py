"""The event bus: each party gets only its own events; a slow subscriber is dropped, never waited for."""

from __future__ import annotations

import asyncio
import threading

import pytest

from deconflict.channel.deadlines import Escalation
from deconflict.channel.events import (
    Event,
    EventBus,
    EventKind,
    SlowConsumerError,
    TooManyConnectionsError,
)
from tests.builders import T0_S


def escalation(message_id: int, sender: str = "blue", recipient: str = "red") -> Escalation:
    return Escalation(message_id, "FREE", sender, recipient, 0, T0_S, T0_S)


def event(party: str, message_id: int) -> Event:
    return Event(EventKind.ESCALATION, party, escalation(message_id))


def test_each_party_receives_only_its_own_events() -> None:
    async def scenario() -> dict[str, list[int]]:
        bus = EventBus(max_queued=10, max_connections_per_party=2)
        blue, red, green = bus.subscribe("blue"), bus.subscribe("red"), bus.subscribe("green")
        bus.publish([event("blue", 1), event("red", 2), event("blue", 3), event("nobody", 4)])
        got = {}
        for sub in (blue, red):
            batch = await asyncio.wait_for(sub.next_batch(), 1.0)
            got[sub.party] = [e.subject.message_id for e in batch if isinstance(e.subject, Escalation)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(green.next_batch(), 0.05)
        for sub in (blue, red, green):
            sub.close()
        assert bus.connections("blue") == 0
        return got

    assert asyncio.run(scenario()) == {"blue": [1, 3], "red": [2]}


def test_every_connection_of_a_party_receives_its_events() -> None:
    async def scenario() -> list[list[int]]:
        bus = EventBus(max_queued=10, max_connections_per_party=2)
        subs = [bus.subscribe("blue"), bus.subscribe("blue")]
        bus.publish([event("blue", 7)])
        batches = [await asyncio.wait_for(s.next_batch(), 1.0) for s in subs]
        return [[e.subject.message_id for e in b if isinstance(e.subject, Escalation)] for b in batches]

    assert asyncio.run(scenario()) == [[7], [7]]


def test_events_published_from_another_thread_arrive_in_order() -> None:
    async def scenario() -> list[int]:
        bus = EventBus(max_queued=100)
        with bus.subscribe("red") as sub:
            worker = threading.Thread(target=bus.publish, args=([event("red", i) for i in range(20)],))
            worker.start()
            got: list[int] = []
            while len(got) < 20:
                batch = await asyncio.wait_for(sub.next_batch(), 1.0)
                got += [e.subject.message_id for e in batch if isinstance(e.subject, Escalation)]
            worker.join()
            return got

    assert asyncio.run(scenario()) == list(range(20))


def test_a_slow_subscriber_is_dropped_without_blocking_the_others() -> None:
    async def scenario() -> None:
        bus = EventBus(max_queued=3, max_connections_per_party=4)
        slow, fast = bus.subscribe("red"), bus.subscribe("red")
        got: list[int] = []
        for i in range(10):
            bus.publish([event("red", i)])  # returns at once, whatever the slow one does
            batch = await asyncio.wait_for(fast.next_batch(), 1.0)
            got += [e.subject.message_id for e in batch if isinstance(e.subject, Escalation)]
        assert got == list(range(10))
        assert slow.dropped and not fast.dropped
        with pytest.raises(SlowConsumerError, match="more than 3 events"):
            await asyncio.wait_for(slow.next_batch(), 1.0)
        assert bus.connections("red") == 1  # the slot of the dropped one is free again
        fast.close()

    asyncio.run(scenario())


def test_the_connection_limit_is_per_party() -> None:
    async def scenario() -> None:
        bus = EventBus(max_queued=3, max_connections_per_party=1)
        first = bus.subscribe("blue")
        with pytest.raises(TooManyConnectionsError, match="at most 1"):
            bus.subscribe("blue")
        bus.subscribe("red").close()
        first.close()
        bus.subscribe("blue").close()

    asyncio.run(scenario())


def test_a_batch_holds_what_is_queued_up_to_its_limit() -> None:
    async def scenario() -> list[int]:
        bus = EventBus(max_queued=100)
        with bus.subscribe("red") as sub:
            bus.publish([event("red", i) for i in range(5)])
            return [len(await sub.next_batch(max_events=3)), len(await sub.next_batch(max_events=3))]

    assert asyncio.run(scenario()) == [3, 2]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventBus(max_queued=0)
