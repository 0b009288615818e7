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
from deconflict.channel.live import (
    AlertBatch,
    AlertLevel,
    AlertNotice,
    AlertState,
    AlertView,
    IncidentBatch,
    IncidentNotice,
    IncidentState,
    IncidentView,
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


def view(number: int, level: str = "warning", tcpa_s: float | None = 60.0) -> AlertView:
    return AlertView(
        f"a-{number}", AlertLevel(level), f"B{number}", "red", f"a-{number}", T0_S,
        30.0, tcpa_s, 100.0, 0.0, (0.0, 0.0, 3000.0), None,
    )  # fmt: skip


def alerts(party: str, time_s: float, *changes: tuple[str, AlertView]) -> Event:
    return Event(
        EventKind.ALERTS, party, AlertBatch.of(time_s, [AlertNotice(AlertState(s), v) for s, v in changes])
    )


def test_a_batch_of_alert_changes_is_ordered_by_urgency() -> None:
    batch = AlertBatch.of(
        T0_S,
        [
            AlertNotice(AlertState.CLEARED, view(1, "advisory", 5.0)),
            AlertNotice(AlertState.NEW, view(2, "advisory", 200.0)),
            AlertNotice(AlertState.NEW, view(3, "warning", None)),
            AlertNotice(AlertState.UPDATE, view(4, "loss", 30.0)),
            AlertNotice(AlertState.NEW, view(5, "warning", 20.0)),
            AlertNotice(AlertState.NEW, view(6, "loss", 0.0)),
        ],
    )
    assert [n.alert.id for n in batch.changes] == ["a-6", "a-4", "a-5", "a-2", "a-3", "a-1"]


def test_a_slow_reader_gets_the_latest_state_of_each_alert_coalesced() -> None:
    async def scenario() -> list[Event]:
        bus = EventBus(max_queued=2, max_connections_per_party=1)
        blue = bus.subscribe("blue")
        # Many more cycles than max_queued, none read yet: they never drop the reader.
        bus.publish([alerts("blue", T0_S, ("new", view(1, "advisory")), ("new", view(2)))])
        bus.publish([event("blue", 7)])  # history: kept, in its place
        bus.publish([alerts("blue", T0_S + 1, ("update", view(1, "warning")), ("new", view(3)))])
        bus.publish([alerts("blue", T0_S + 2, ("cleared", view(2)), ("new", view(4, "loss", 0.0)))])
        for k in range(3, 20):
            bus.publish([alerts("blue", T0_S + k, ("update", view(4, "loss", 0.0)))])
        got = await asyncio.wait_for(blue.next_batch(), 1.0)
        blue.close()
        return got

    first, second = asyncio.run(scenario())
    assert first.kind is EventKind.ALERTS and isinstance(first.subject, AlertBatch)
    assert first.subject.time_s == T0_S + 19
    changes = [(str(n.state), n.alert.id, str(n.alert.level)) for n in first.subject.changes]
    # a-2 came and went before the reader heard of it; a-1 is still new to it, at its latest level.
    assert changes == [("new", "a-4", "loss"), ("new", "a-1", "warning"), ("new", "a-3", "warning")]
    assert second.kind is EventKind.ESCALATION


def test_alert_changes_after_the_reader_took_the_last_ones_come_as_they_are() -> None:
    async def scenario() -> tuple[list[Event], list[Event]]:
        bus = EventBus(max_queued=1, max_connections_per_party=1)
        blue = bus.subscribe("blue")
        bus.publish([alerts("blue", T0_S, ("new", view(1)), ("new", view(2)))])
        taken = await asyncio.wait_for(blue.next_batch(), 1.0)
        bus.publish([alerts("blue", T0_S + 1, ("cleared", view(1)))])
        bus.publish([alerts("blue", T0_S + 2, ("new", view(3)))])
        bus.publish([alerts("blue", T0_S + 3, ("cleared", view(3)))])  # never heard of: left out
        later = await asyncio.wait_for(blue.next_batch(), 1.0)
        blue.close()
        return taken, later

    taken, later = asyncio.run(scenario())
    assert [len(e.subject.changes) for e in taken if isinstance(e.subject, AlertBatch)] == [2]
    [batch] = [e.subject for e in later if isinstance(e.subject, AlertBatch)]
    assert [(str(n.state), n.alert.id) for n in batch.changes] == [("cleared", "a-1")]


def test_a_cycles_incidents_wait_as_one_event_and_are_never_merged() -> None:
    def incidents(time_s: float, *numbers: int) -> Event:
        notices = tuple(
            IncidentNotice(IncidentState.OPENED, IncidentView(n, f"B{n}", "red", time_s, None, None, ()))
            for n in numbers
        )
        return Event(EventKind.INCIDENT, "blue", IncidentBatch(time_s, notices))

    async def scenario() -> list[Event]:
        bus = EventBus(max_queued=2, max_connections_per_party=1)
        blue = bus.subscribe("blue")
        bus.publish([incidents(T0_S, *range(1, 3001))])  # a burst of losses: one entry
        bus.publish([incidents(T0_S + 1, 3001)])
        got = await asyncio.wait_for(blue.next_batch(), 1.0)
        assert not blue.dropped
        bus.publish([incidents(T0_S + 2, 3002)])
        bus.publish([incidents(T0_S + 3, 3003)])
        bus.publish([incidents(T0_S + 4, 3004)])  # history piling up beyond max_queued: dropped
        assert blue.dropped
        return got

    got = asyncio.run(scenario())
    batches = [e.subject for e in got if isinstance(e.subject, IncidentBatch)]
    assert [len(b.notices) for b in batches] == [3000, 1]
