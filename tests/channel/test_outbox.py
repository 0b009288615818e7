"""The event outbox: events stored with their facts (both backends), numbered in commit order, read back.

Every kind of subject survives the outbox's JSON unchanged; a filing's events
commit with it or not at all; the bus delivers only committed events, numbered,
in the order they were stored; a resumed subscription holds live events back,
then drops the ones the client was already given.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.channel import outbox
from deconflict.channel.deadlines import Escalation
from deconflict.channel.disclosure import ConflictView
from deconflict.channel.events import Event, EventBus, EventKind, EventSubject, OperationNotice
from deconflict.channel.gating import Withheld
from deconflict.channel.ledger import Disclosure, DisclosureKind, LedgerEntry
from deconflict.channel.live import (
    AlertBatch,
    AlertKind,
    AlertLevel,
    AlertNotice,
    AlertState,
    AlertView,
    ClosestApproach,
    CommentNotice,
    IncidentBatch,
    IncidentComment,
    IncidentNotice,
    IncidentState,
    IncidentView,
)
from deconflict.channel.messages import AckLevel, Message, MessageContent
from deconflict.channel.outbox import SUBJECT_TYPES, decode_subject, encode_subject
from deconflict.channel.service.operations import file_plan
from deconflict.channel.stores import Storage
from deconflict.strategic.buffers import Buffers
from deconflict.strategic.limits import Limits
from tests.builders import T0_S, box, volume
from tests.storage.backends import Backend

_ALERT = AlertView(
    "a-12",
    AlertLevel.WARNING,
    "BLU1",
    "red",
    "a-12",
    T0_S,
    30.5,
    61.0,
    900.25,
    12.0,
    (8.0, 47.0, 1000.0),
    None,
)
_INCIDENT = IncidentView(
    7, "BLU1", "red", T0_S, None, ClosestApproach(T0_S + 1, 80.0, 10.0, 8.0, 47.0, 900.0), ()
)
_MESSAGE = Message(
    3,
    MessageContent(
        "blue", "red", "TRAFFIC", {"track_deg": 270, "nested": {"a": [1, 2.5]}}, "Привет", None, "n"
    ),
    "c2ln",
    T0_S,
    AckLevel.READ,
    T0_S + 1,
    T0_S + 2,
)
SUBJECTS: dict[EventKind, EventSubject] = {
    EventKind.CONFLICT: ConflictView(
        9, "open", "op", "v1", "red", T0_S, T0_S + 60, 100.0, 200.0, "MSL", 1.5e6, (8.0, 47.0, 8.1, 47.1)
    ),
    EventKind.MESSAGE: _MESSAGE,
    EventKind.ACKNOWLEDGEMENT: _MESSAGE,
    EventKind.DEADLINE_PASSED: _MESSAGE,
    EventKind.ESCALATION: Escalation(3, "TRAFFIC", "blue", "red", 1, T0_S, T0_S + 0.5),
    EventKind.ALERTS: AlertBatch(
        T0_S,
        (
            AlertNotice(AlertState.NEW, _ALERT),
            AlertNotice(
                AlertState.UPDATE,
                AlertView(
                    "a-13",
                    AlertLevel.LOSS,
                    "BLU2",
                    "civil",
                    "a-13",
                    T0_S,
                    None,
                    None,
                    None,
                    None,
                    (8.0, 47.0, 0.0),
                    None,
                    Withheld.PROBATION,
                ),
            ),
        ),
    ),
    EventKind.INCIDENT: IncidentBatch(
        T0_S,
        (
            IncidentNotice(IncidentState.OPENED, _INCIDENT),
            IncidentNotice(
                IncidentState.CLOSED,
                IncidentView(8, "BLU2", "red", T0_S, T0_S + 9, None, (IncidentComment("red", T0_S, "ok"),)),
            ),
        ),
    ),
    EventKind.INCIDENT_COMMENT: CommentNotice(7, IncidentComment("blue", T0_S, "we climbed")),
    EventKind.PROBE_ALARM: LedgerEntry(
        4,
        Disclosure(
            DisclosureKind.PROBE_ALARM, "blue", "red", "op", ("time_window",), "conflict:1,2", T0_S, "burst"
        ),
    ),
    EventKind.OPERATION: OperationNotice("op-1", 3, "ended"),
}


def test_every_kind_of_event_has_an_example() -> None:
    assert set(SUBJECTS) == set(EventKind) == set(SUBJECT_TYPES)


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_subject_comes_back_from_the_outbox_unchanged(kind: EventKind) -> None:
    subject = SUBJECTS[kind]
    assert decode_subject(kind, encode_subject(subject)) == subject


def test_odd_numbers_come_back_as_they_were_stored() -> None:
    # Infinities and NaN are kept as json.dumps writes them (not turned into null), a float subclass
    # (numpy's) is stored as its float, and an integer over 64 bits as it is.
    view = dataclasses.replace(
        _ALERT, time_to_loss_s=math.inf, time_to_cpa_s=-math.inf, distance_cpa_m=np.float64(900.5),
        vertical_cpa_m=math.nan,
    )  # fmt: skip
    text = encode_subject(AlertBatch(T0_S, (AlertNotice(AlertState.NEW, view),)))
    assert '"time_to_loss_s":Infinity,"time_to_cpa_s":-Infinity,"distance_cpa_m":900.5' in text
    back = decode_subject(EventKind.ALERTS, text)
    assert isinstance(back, AlertBatch)
    got = back.changes[0].alert
    assert (got.time_to_loss_s, got.time_to_cpa_s, got.distance_cpa_m) == (math.inf, -math.inf, 900.5)
    assert got.vertical_cpa_m is not None and math.isnan(got.vertical_cpa_m)
    assert type(got.distance_cpa_m) is float
    big = dataclasses.replace(_MESSAGE, content=dataclasses.replace(_MESSAGE.content, params={"n": 2**70}))
    assert decode_subject(EventKind.MESSAGE, encode_subject(big)) == big


def test_subclasses_of_text_and_numbers_are_stored_as_their_values() -> None:
    class Text(str):
        pass

    class Count(int):
        pass

    params = {"code": Text("x"), "n": Count(3), "flag": True}
    message = dataclasses.replace(_MESSAGE, content=dataclasses.replace(_MESSAGE.content, params=params))
    assert '"params":{"code":"x","n":3,"flag":true}' in encode_subject(message)


@pytest.fixture
def storage(storage_backend: Backend) -> Iterator[Storage]:
    with storage_backend.open() as opened:
        yield opened


def _file(storage: Storage, events: EventBus, party: str, lon: float = 8.0) -> None:
    # Every party files the same box: each filing conflicts with the others' operations.
    file_plan(
        storage.operations,
        storage.audit,
        party,
        f"op-{party}",
        [volume("v1", party, box(lon, 47.0, lon + 0.1, 47.1))],
        document={"party": party},
        priority=0,
        replaces_version=None,
        buffers=Buffers(),
        limits=Limits(),
        now_s=T0_S,
        events=events,
        conflict_states=storage.conflict_states,
    )


def _published(bus: EventBus) -> list[Event]:
    got: list[Event] = []
    bus.deliver = got.extend
    return got


def test_a_filing_stores_each_sides_event_with_it_numbered(storage: Storage) -> None:
    bus = EventBus(outbox=storage.outbox)
    delivered = _published(bus)
    _file(storage, bus, "blue")
    assert delivered == [] and storage.outbox.latest_id() == 0  # no conflict, no event
    _file(storage, bus, "red")
    stored = storage.outbox.after(0, 10)
    assert [(e.kind, e.party) for e in stored] == [(EventKind.CONFLICT, "blue"), (EventKind.CONFLICT, "red")]
    assert [e.id for e in stored] == [1, 2] and storage.outbox.latest_id() == 2
    assert delivered == stored  # delivered once committed: the same events, numbered
    assert storage.outbox.since("red", 0, 10) == stored[1:]
    assert storage.outbox.since("red", 2, 10) == []


def test_a_rolled_back_filing_leaves_no_event_and_delivers_nothing(storage: Storage) -> None:
    bus = EventBus(outbox=storage.outbox)
    delivered = _published(bus)
    _file(storage, bus, "blue")
    with pytest.raises(RuntimeError), storage.audit.transaction_with(storage.operations):  # type: ignore[attr-defined]
        _file(storage, bus, "red")
        assert storage.outbox.since("red", 0, 10) != []  # inside: written with the filing
        raise RuntimeError("the process dies before the commit")
    assert storage.outbox.after(0, 10) == [] and delivered == []
    assert storage.operations.count_open_conflicts() == 0
    _file(storage, bus, "green", lon=8.05)
    assert [e.party for e in delivered] == ["blue", "green"]
    assert [e.id for e in delivered] == [e.id for e in storage.outbox.after(0, 10)]


def test_pruned_events_leave_the_outbox_and_mark_where_resuming_has_a_gap(storage: Storage) -> None:
    bus = EventBus(outbox=storage.outbox)
    _published(bus)
    _file(storage, bus, "blue")
    _file(storage, bus, "red")
    assert storage.outbox.pruned_id() == 0
    assert storage.outbox.prune(time.time() + 1, published_only=True) == 0  # no relay published them
    assert storage.outbox.prune(time.time() - 3600, published_only=False) == 0  # stored since
    assert storage.outbox.prune(time.time() + 1, published_only=False) == 2
    assert storage.outbox.pruned_id() == 2 and storage.outbox.after(0, 10) == []
    _file(storage, bus, "green", lon=8.05)
    kept = storage.outbox.after(0, 10)
    assert kept and min(e.id or 0 for e in kept) > 2 and storage.outbox.pruned_id() == 2


def test_without_an_outbox_events_are_published_after_the_commit_unnumbered(storage: Storage) -> None:
    bus = EventBus()
    delivered: list[Event] = []
    bus.publish = delivered.extend  # type: ignore[method-assign]
    _file(storage, bus, "blue")
    _file(storage, bus, "red")
    assert [(e.party, e.id) for e in delivered] == [("blue", None), ("red", None)]
    assert storage.outbox.latest_id() == 0


def _escalation(n: int) -> Escalation:
    return Escalation(n, "FREE", "blue", "red", 0, T0_S, T0_S)


def test_a_resumed_subscription_holds_live_events_then_drops_those_given() -> None:
    async def scenario() -> list[int | None]:
        bus = EventBus(max_queued=10)
        red = bus.subscribe("red", resume_after=3)
        bus.publish([Event(EventKind.ESCALATION, "red", _escalation(n), n) for n in (4, 5, 6)])
        await asyncio.sleep(0)
        assert red._queue.empty()  # held back while the stored ones are given
        red.go_live(5)  # the client was given up to 5 from the outbox
        bus.publish([Event(EventKind.ESCALATION, "red", _escalation(n), n) for n in (6, 7)])
        got = await asyncio.wait_for(red.next_batch(), 1.0)
        red.close()
        return [e.id for e in got]

    assert asyncio.run(scenario()) == [6, 7]


def test_numbered_alert_changes_move_behind_earlier_events_so_ids_only_grow() -> None:
    def alerts(event_id: int, state: AlertState) -> Event:
        return Event(EventKind.ALERTS, "red", AlertBatch(T0_S, (AlertNotice(state, _ALERT),)), event_id)

    async def scenario() -> list[tuple[EventKind, int | None]]:
        bus = EventBus(max_queued=10)
        red = bus.subscribe("red")
        bus.publish([alerts(1, AlertState.NEW), Event(EventKind.ESCALATION, "red", _escalation(1), 2)])
        bus.publish([alerts(3, AlertState.UPDATE)])
        got = await asyncio.wait_for(red.next_batch(), 1.0)
        red.close()
        return [(e.kind, e.id) for e in got]

    assert asyncio.run(scenario()) == [(EventKind.ESCALATION, 2), (EventKind.ALERTS, 3)]


_NUMBERS = st.one_of(st.none(), st.floats())
_ODD_NUMBERS = st.one_of(_NUMBERS, st.floats().map(np.float64), st.integers(-(2**70), 2**70))


@st.composite
def _views(draw: st.DrawFn) -> AlertView:
    figures = [draw(_ODD_NUMBERS), draw(_NUMBERS), draw(_NUMBERS), draw(_NUMBERS)]
    positions = [
        draw(st.one_of(st.none(), st.tuples(st.floats(), st.floats(), st.floats()))) for _ in range(2)
    ]
    return AlertView(
        draw(st.sampled_from(["a-1", "a-77"])),
        draw(st.sampled_from(list(AlertLevel))),
        draw(st.one_of(st.none(), st.text(max_size=4))),
        draw(st.one_of(st.none(), st.just("red"))),
        draw(st.one_of(st.none(), st.text(max_size=4))),
        draw(st.floats(allow_nan=False)),
        *figures,  # type: ignore[arg-type]
        *positions,  # type: ignore[arg-type]
        draw(st.one_of(st.none(), st.sampled_from(list(Withheld)))),
        draw(st.sampled_from(list(AlertKind))),
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(list(AlertState)), _views()), max_size=4), st.floats())
def test_an_alert_batch_is_stored_as_the_general_walk_stores_it(
    changes: list[tuple[AlertState, AlertView]], time_s: float
) -> None:
    # msgspec writes alert batches itself (a dense cycle's hold 160,000 views): the same text as the
    # walk over any dataclass gives, non-finite numbers, numpy floats and large integers included.
    batch = AlertBatch(time_s, tuple(AlertNotice(state, view) for state, view in changes))
    assert encode_subject(batch) == _walked(batch)


def _walked(batch: AlertBatch) -> str:
    """:func:`encode_subject` of ``batch`` through the general walk."""
    plain = outbox._fields_of(AlertBatch)(batch)
    try:
        return outbox._ENCODER.encode(plain).decode()
    except (TypeError, UnicodeEncodeError):
        return json.dumps(plain, separators=(",", ":"), ensure_ascii=False, default=outbox._raw_number)
