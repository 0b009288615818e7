"""The party store contract, on both backends: names unique, tokens by hash, revocation, rotation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from deconflict.channel.parties import Party, authenticate, register_party, revoke_party, rotate_token
from deconflict.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from deconflict.storage.sqlite import SQLitePartyStore
from deconflict.storage.sqlite.database import Database
from tests.builders import T0_S
from tests.storage.backends import Backend


def _party(name: str) -> Party:
    return Party(name=name, public_key_pem=f"key of {name}", created_s=T0_S, revoked_s=None)


def test_parties_round_trip_are_listed_by_name_and_survive_reopening(storage_backend: Backend) -> None:
    with storage_backend.store("parties") as parties:
        for name in ["red", "blue", "green", "blue-2", "Blue"]:
            parties.add_party(_party(name), f"hash-{name}")
        with pytest.raises(AlreadyExistsError, match="'red' already exists"):
            parties.add_party(_party("red"), "another-hash")
    with storage_backend.store("parties") as parties:
        # Byte order, as SQLite's default collation sorts.
        assert [p.name for p in parties.list_parties()] == ["Blue", "blue", "blue-2", "green", "red"]
        assert parties.get_party("red") == _party("red")
        assert parties.get_party("ghost") is None
        assert parties.party_for_token("hash-green") == (_party("green"), "hash-green")
        assert parties.party_for_token("hash-ghost") is None


def test_revoking_keeps_the_first_time_and_an_unknown_party_is_not_found(storage_backend: Backend) -> None:
    with storage_backend.store("parties") as parties:
        blue = register_party(parties, "blue", None, T0_S)
        assert revoke_party(parties, "blue", T0_S + 10).revoked_s == T0_S + 10
        assert revoke_party(parties, "blue", T0_S + 20).revoked_s == T0_S + 10
        with pytest.raises(NotFoundError, match="no party 'ghost'"):
            parties.revoke_party("ghost", T0_S)
        with pytest.raises(AuthenticationError):
            authenticate(parties, blue.token)


def test_rotation_keeps_one_previous_token_until_its_time(storage_backend: Backend) -> None:
    with storage_backend.store("parties") as parties:
        registration = register_party(parties, "blue", None, T0_S)
        assert authenticate(parties, registration.token).name == "blue"
        parties.rotate_token("blue", "second", T0_S + 100)
        parties.rotate_token("blue", "third", T0_S + 200)
        found = parties.party_for_token("third")
        assert found is not None and found[0].name == "blue"
        previous = parties.party_for_previous_token("second")
        assert previous is not None and previous[1:] == ("second", T0_S + 200)
        assert parties.party_for_previous_token("first") is None
        with pytest.raises(NotFoundError, match="no party 'ghost'"):
            parties.rotate_token("ghost", "x", T0_S)


def test_a_refused_party_leaves_the_callers_transaction_usable(storage_backend: Backend) -> None:
    database = storage_backend.database()
    try:
        with storage_backend.store("parties", database) as parties:
            parties.add_party(_party("red"), "hash-red")
            with database.transaction():
                with pytest.raises(AlreadyExistsError):
                    parties.add_party(_party("red"), "hash-red-2")
                parties.add_party(_party("blue"), "hash-blue")
            assert [p.name for p in parties.list_parties()] == ["blue", "red"]
    finally:
        database.close()


def test_a_token_lookup_does_not_wait_behind_an_open_write_transaction(tmp_path: Path) -> None:
    database = Database(tmp_path / "channel.db")
    try:
        parties = SQLitePartyStore(database)
        blue = register_party(parties, "blue", None, T0_S)
        writing, done = threading.Event(), threading.Event()

        def long_write() -> None:  # a detection cycle's transaction, say
            with database.transaction() as db:
                db.execute("UPDATE parties SET created_s = created_s WHERE name = 'blue'")
                writing.set()
                done.wait(10.0)

        writer = threading.Thread(target=long_write)
        writer.start()
        try:
            assert writing.wait(10.0)
            found: list[str] = []
            reader = threading.Thread(target=lambda: found.append(authenticate(parties, blue.token).name))
            reader.start()
            reader.join(5.0)
            assert found == ["blue"]  # answered while the write transaction is still open
        finally:
            done.set()
            writer.join()
        parties.close()
    finally:
        database.close()


def test_a_revocation_or_rotation_by_another_process_holds_at_the_next_lookup(tmp_path: Path) -> None:
    path = tmp_path / "channel.db"
    with SQLitePartyStore(path) as server, SQLitePartyStore(path) as cli:  # two connections, as two processes
        blue = register_party(server, "blue", None, T0_S)
        red = register_party(server, "red", None, T0_S)
        assert authenticate(server, blue.token).name == "blue"
        assert authenticate(server, red.token).name == "red"
        revoke_party(cli, "blue", T0_S + 10)
        with pytest.raises(AuthenticationError):
            authenticate(server, blue.token)
        rotated = rotate_token(cli, "red", T0_S + 20, grace_s=60.0)
        assert authenticate(server, rotated.token, T0_S + 21).name == "red"
        assert authenticate(server, red.token, T0_S + 21).name == "red"
        with pytest.raises(AuthenticationError):
            authenticate(server, red.token, T0_S + 81)
