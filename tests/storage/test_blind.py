"""The blind relay store contract, on both backends: opaque blobs kept per session, phase and sender,
each phase once; ending or expiring a session deletes its blobs; sessions per pair counted either way
round."""

from __future__ import annotations

import pytest

from deconflict.channel.blind_relay import BlindRateError, RelaySession
from deconflict.errors import AlreadyExistsError
from tests.storage.backends import Backend

T0_S = 1_800_000_000.0


def test_blobs_are_kept_whole_per_phase_and_sender_and_deleted_when_the_session_ends(
    storage_backend: Backend,
) -> None:
    with storage_backend.store("blind") as store:
        store.create(RelaySession("s-1", "blue", "red", '{"cap": 4}', T0_S), 4)
        with pytest.raises(AlreadyExistsError):
            store.create(RelaySession("s-1", "red", "blue", "{}", T0_S), 4)
        body = bytes(range(256)) * 3
        assert store.put("s-1", "blue", "hello", body, T0_S)
        assert not store.put("s-1", "blue", "hello", b"again", T0_S)
        assert store.put("s-1", "red", "hello", b"r", T0_S)
        assert store.put("s-1", "blue", "blinded", b"b2", T0_S)
    with storage_backend.store("blind") as store:
        session = store.session("s-1")
        assert session is not None
        assert (session.initiator, session.peer, session.parameters) == ("blue", "red", '{"cap": 4}')
        assert session.posted == (("blue", "hello"), ("red", "hello"), ("blue", "blinded"))
        assert store.messages("s-1", "blue") == [("hello", body), ("blinded", b"b2")]
        assert store.messages("s-1", "red") == [("hello", b"r")]
        assert store.end("s-1", T0_S + 1)
        assert not store.end("s-1", T0_S + 2)
        assert store.session("s-1") is None
        assert store.messages("s-1", "blue") == []
    assert storage_backend.query("SELECT count(*) FROM blind_messages") == [(0,)]


def test_expiry_deletes_old_sessions_blobs_and_the_pair_counts_either_way_round(
    storage_backend: Backend,
) -> None:
    with storage_backend.store("blind") as store:
        store.create(RelaySession("old", "blue", "red", "{}", T0_S), 4)
        store.create(RelaySession("new", "red", "blue", "{}", T0_S + 100), 4)
        store.create(RelaySession("other", "blue", "green", "{}", T0_S + 100), 4)
        store.put("old", "blue", "hello", b"x", T0_S)
        store.put("new", "red", "hello", b"y", T0_S + 100)
        assert store.expire(T0_S + 50, T0_S + 200) == 1
        assert store.session("old") is None and store.messages("old", "blue") == []
        assert store.messages("new", "red") == [("hello", b"y")]
        assert sorted(store.started_since("red", "blue", T0_S)) == [T0_S, T0_S + 100]
        assert store.started_since("blue", "red", T0_S + 1) == [T0_S + 100]


def test_the_pair_bound_is_checked_in_the_creating_transaction(storage_backend: Backend) -> None:
    with storage_backend.store("blind") as store:
        store.create(RelaySession("a", "blue", "red", "{}", T0_S), 2)
        store.create(RelaySession("b", "red", "blue", "{}", T0_S + 10), 2)
        with pytest.raises(BlindRateError) as refused:
            store.create(RelaySession("c", "blue", "red", "{}", T0_S + 20), 2)
        assert refused.value.retry_after_s == pytest.approx(3600.0 - 20.0)
        assert store.session("c") is None
        store.create(RelaySession("c", "blue", "green", "{}", T0_S + 20), 2)
        store.create(RelaySession("d", "blue", "red", "{}", T0_S + 3600.0), 2)
