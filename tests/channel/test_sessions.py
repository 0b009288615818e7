"""Credentials bind sessions: why a token stopped holding, and the bus ending the subscriptions it opened."""

from __future__ import annotations

import asyncio

import pytest

from deconflict.channel.events import EventBus, SessionEndedError
from deconflict.channel.parties import hash_token, register_party, revoke_party, rotate_token
from deconflict.channel.sessions import TOKEN_EXPIRED, TOKEN_REVOKED, SessionEnding, credential_ending
from deconflict.storage import SQLitePartyStore
from tests.builders import T0_S


def test_a_token_holds_until_revoked_or_rotated_out_past_its_grace() -> None:
    with SQLitePartyStore(":memory:") as store:
        first = hash_token(register_party(store, "blue", None, T0_S).token)
        assert credential_ending(store, first, T0_S + 1) is None
        second = hash_token(rotate_token(store, "blue", T0_S + 10, grace_s=60.0).token)
        assert credential_ending(store, first, T0_S + 69) is None  # still in its grace
        assert credential_ending(store, first, T0_S + 70) == TOKEN_EXPIRED
        assert credential_ending(store, second, T0_S + 70) is None
        rotate_token(store, "blue", T0_S + 80, grace_s=600.0)
        assert credential_ending(store, first, T0_S + 81) == TOKEN_EXPIRED  # rotated out twice: unknown
        assert credential_ending(store, second, T0_S + 81) is None  # the previous one, in its grace
        revoke_party(store, "blue", T0_S + 90)
        assert credential_ending(store, second, T0_S + 91) == TOKEN_REVOKED
        assert credential_ending(store, hash_token("never issued"), T0_S) == TOKEN_EXPIRED


def test_the_bus_ends_only_the_subscriptions_of_a_credential_that_no_longer_holds() -> None:
    async def scenario() -> None:
        bus = EventBus(max_queued=10, max_connections_per_party=4)
        stale = [bus.subscribe("blue", "stale-hash") for _ in range(2)]
        fresh = bus.subscribe("blue", "fresh-hash")
        unbound = bus.subscribe("blue")
        asked: list[str] = []

        def ending_of(credential: str) -> SessionEnding | None:
            asked.append(credential)
            return TOKEN_REVOKED if credential == "stale-hash" else None

        assert bus.end_sessions(ending_of) == 2
        assert sorted(asked) == ["fresh-hash", "stale-hash"]  # once per distinct credential
        for subscription in stale:
            with pytest.raises(SessionEndedError) as ended:
                await asyncio.wait_for(subscription.next_batch(), 1.0)
            assert ended.value.ending == TOKEN_REVOKED
        assert bus.connections("blue") == 2
        for subscription in (fresh, unbound):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(subscription.next_batch(), 0.05)
            subscription.close()

    asyncio.run(scenario())
