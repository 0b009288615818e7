"""What nodes share through PostgreSQL (storage/postgres/cluster.py), two nodes simulated in one process.

Each "node" is a :class:`~deconflict.storage.postgres.cluster.PostgresCoordination`
of its own name on one database: the scheduler's lease is held by one at a
time, a new holder gets the next fencing token, and a node that lost it
writes nothing in its name (the check holds a takeover back until the
transaction ends); rates and connection caps count both nodes' events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from deconflict.channel.catalogue import load_catalogue
from deconflict.channel.cluster import SCHEDULER_LEASE, LeaseLostError
from deconflict.channel.gating import Withheld
from deconflict.channel.live import (
    Aircraft,
    Alert,
    AlertLevel,
    ClosestApproach,
    Incident,
    IncidentComment,
    NonConformance,
    PictureState,
    StateColumns,
    TrackState,
)
from deconflict.channel.messages import MessageContent, send_message, sign_content
from deconflict.channel.parties import register_party
from deconflict.channel.service.messages import pass_deadlines
from deconflict.storage.postgres.storage import PostgresStorage
from tests.builders import T0_S
from tests.storage.backends import empty_postgres

TTL_S = 0.5


@pytest.fixture
def storage(contract_postgres_url: str, tmp_path: Path) -> Iterator[PostgresStorage]:
    empty_postgres(contract_postgres_url)
    with PostgresStorage.open(contract_postgres_url, key_path=tmp_path / "audit-key.pem") as opened:
        yield opened


def test_one_holder_at_a_time_and_each_new_holder_a_new_token(storage: PostgresStorage) -> None:
    a = storage.coordination("a").lease(SCHEDULER_LEASE, TTL_S)
    b = storage.coordination("b").lease(SCHEDULER_LEASE, TTL_S)
    assert (a.renew(), b.renew()) == (True, False)
    assert (a.held(), b.held(), a.token, b.token) == (True, False, 1, None)
    assert a.renew() and a.token == 1  # renewing keeps the token
    time.sleep(TTL_S + 0.1)  # a stops renewing (killed)
    assert not a.held()  # by its own clock, it knows before anyone takes over
    assert b.renew() and b.token == 2
    assert not a.renew()
    b.release()  # a stopping node gives it up: no waiting for the expiry
    assert a.renew() and a.token == 3


def test_a_node_that_lost_the_lease_writes_no_escalation(storage: PostgresStorage) -> None:
    keys = {
        name: register_party(storage.parties, name, None, T0_S).private_key_pem for name in ("blue", "red")
    }
    content = MessageContent("blue", "red", "FREE", {}, "answer", "2026-01-01T12:30:00Z", "n" * 16)
    key = keys["blue"]
    assert key is not None
    send_message(
        storage.messages, storage.parties, load_catalogue(), content, sign_content(content, key), T0_S
    )
    late_s = T0_S + 3600.0
    a = storage.coordination("a").lease(SCHEDULER_LEASE, TTL_S)
    b = storage.coordination("b").lease(SCHEDULER_LEASE, TTL_S)
    assert a.renew()
    assert pass_deadlines(storage.messages, storage.audit, late_s, (0.0,), lease=b) == []  # b never held it
    time.sleep(TTL_S + 0.1)
    assert b.renew()
    # a still believes it holds the lease (its clock jumped, say): the check in the transaction refuses.
    a._valid_until = time.monotonic() + 60.0
    assert a.held()
    assert pass_deadlines(storage.messages, storage.audit, late_s, (0.0,), lease=a) == []
    assert storage.messages.list_escalations("blue") == []
    escalated = pass_deadlines(storage.messages, storage.audit, late_s, (0.0,), lease=b)
    assert [e.step for e in escalated] == [0]
    assert [e.step for e in storage.messages.list_escalations("blue")] == [0]


def test_the_fence_holds_a_takeover_back_until_the_transaction_ends(storage: PostgresStorage) -> None:
    a = storage.coordination("a").lease(SCHEDULER_LEASE, TTL_S)
    b = storage.coordination("b").lease(SCHEDULER_LEASE, TTL_S)
    assert a.renew()
    took: list[float] = []
    with storage.database.transaction():
        a.fence()
        checked_s = time.monotonic()
        time.sleep(TTL_S + 0.2)  # the lease expires while a's write is under way
        taker = threading.Thread(target=lambda: took.append(time.monotonic()) if b.renew() else None)
        taker.start()
        time.sleep(0.3)
        assert took == []  # b waits for a's transaction
        committed_s = time.monotonic()
    taker.join(timeout=10)
    assert took and took[0] >= committed_s > checked_s
    with pytest.raises(LeaseLostError, match="not held by 'a'"), storage.database.transaction():
        a.fence()


def test_a_rate_counts_every_node(storage: PostgresStorage) -> None:
    rates = [storage.coordination(node).rate("messages", 10, 60.0) for node in ("a", "b")]
    admitted: list[bool] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        for k in range(6):
            ok = rates[n % 2].admit("blue", T0_S + k * 0.01) is None
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert admitted.count(True) == 10 and len(admitted) == 24
    assert rates[0].admit("red", T0_S) is None  # per party
    wait_s = rates[1].admit("blue", T0_S + 1.0)
    assert wait_s is not None and 58.9 < wait_s <= 60.0
    assert rates[1].admit("blue", T0_S + 60.1) is None  # the window slid
    # A batch is counted at once, as many single events would be: the first ones up to the limit.
    assert rates[0].admit_many("green", 4, T0_S) == (4, None)
    assert rates[1].admit_many("green", 9, T0_S + 1.0) == (6, 59.0)
    assert rates[0].admit_many("green", 2, T0_S + 2.0) == (0, 58.0)


def test_connections_count_every_node_until_a_node_stops_beating(storage: PostgresStorage) -> None:
    a = storage.coordination("a").connections(TTL_S)
    b = storage.coordination("b").connections(TTL_S)
    first, second = a.open("blue", 2), b.open("blue", 2)
    assert first is not None and second is not None
    assert a.open("blue", 2) is None and b.open("blue", 2) is None
    assert a.open("red", 2) is not None
    b.close(second)
    assert a.open("blue", 2) is not None  # blue: both on a now
    assert b.open("blue", 2) is None
    time.sleep(TTL_S / 2)
    b.heartbeat()  # b beats, a does not (killed): a's connections stop counting after the ttl
    time.sleep(TTL_S / 2 + 0.1)
    assert b.open("blue", 2) is not None


def test_the_mirrored_picture_reads_back_as_written(storage: PostgresStorage) -> None:
    blue, red = Aircraft("blue", "B1"), Aircraft("red", "R1")
    alert = Alert(
        "7", AlertLevel.WARNING, blue, red, T0_S, T0_S + 3, 40.0, 60.0, 900.0, 30.0,
        (2.0, 48.0, 3000.0), (2.1, 48.0, 3010.0), None, Withheld.PROBATION,
    )  # fmt: skip
    closest = ClosestApproach(T0_S + 5, 1500.0, 20.0, 2.05, 48.0, 3005.0)
    comment = IncidentComment("red", T0_S + 9, "seen")
    incident = Incident(3, blue, red, T0_S, None, closest, (comment,), ("red",))
    stray = NonConformance("a-8", blue, T0_S, T0_S + 3, (2.5, 48.0, 900.0), ("red",))
    state = PictureState(T0_S + 3, (alert,), (incident,), ((red, Withheld.OUTSIDE_PLANS),), (stray,))
    a, b = storage.coordination("a").live_mirror(), storage.coordination("b").live_mirror()
    assert b.read(0.0) is None
    a.write(state)
    assert b.read(0.0) == state
    assert b.read(T0_S + 3) is None  # nothing newer
    a.write(PictureState(T0_S + 4, (), (), ()))
    assert b.read(T0_S + 3) == PictureState(T0_S + 4, (), (), ())


def _states(party_ids: list[str], time_s: float) -> StateColumns:
    return StateColumns.of(
        [TrackState(i, "CS", time_s, 48.0, 2.0, 3000.0, 120.0, 90.0, 0.5, i == "G") for i in party_ids]
    )


def test_posted_states_are_read_by_the_other_nodes_in_order(storage: PostgresStorage) -> None:
    a, b = storage.coordination("a").track_posts(), storage.coordination("b").track_posts()
    a.append("blue", _states(["A1"], T0_S), T0_S)
    b.append("red", _states(["R1"], T0_S + 1), T0_S + 1)
    a.append("blue", _states(["A1", "G"], T0_S + 2), T0_S + 2)
    seen_by_b = b.since(0, T0_S)
    assert [(p.party, p.posted_s, p.states.ids) for p in seen_by_b] == [
        ("blue", T0_S, ["A1"]),
        ("blue", T0_S + 2, ["A1", "G"]),
    ]
    got, sent = seen_by_b[1].states, _states(["A1", "G"], T0_S + 2)
    for name in (
        "callsigns",
        "time_s",
        "lat_deg",
        "lon_deg",
        "alt_m",
        "gs_mps",
        "trk_deg",
        "vs_mps",
        "on_ground",
    ):
        assert list(getattr(got, name)) == list(getattr(sent, name)), name
    assert [p.party for p in a.since(0, T0_S)] == ["red"]
    assert [p.seq for p in b.since(seen_by_b[0].seq, T0_S)] == [seen_by_b[1].seq]
    assert [p.seq for p in b.since(0, T0_S + 1.5)] == [seen_by_b[1].seq]  # older ones are stale
    assert a.last_seq() == seen_by_b[-1].seq
    a.forget(T0_S + 1.5)
    with psycopg.connect(storage.database.url) as connection:
        row = connection.execute("SELECT count(*) FROM track_posts").fetchone()
    assert row is not None and row[0] == 1
