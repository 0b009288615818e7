"""``GET /v1/alerts`` and ``GET /v1/incidents`` by pages: ``limit``, opaque ``after``/``before`` cursors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deconflict.channel.live import CycleChanges
from deconflict.channel.public_ids import IdKind
from tests.api.conftest import Channel, burst_settings, open_channel
from tests.api.test_client import client_of
from tests.api.test_events_bursts import cycle, head_on_pairs
from tests.builders import T0_S

PAIRS = 300


def page(ch: Channel, path: str, **query: Any) -> dict[str, Any]:
    response = ch.client.get(path, params=query, headers=ch.auth("blue"))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def every_page(ch: Channel, path: str, key: str, limit: int) -> list[list[dict[str, Any]]]:
    """Each page of a listing, following ``next`` from the first."""
    pages = [page(ch, path, limit=limit)]
    while pages[-1]["next"] is not None:
        pages.append(page(ch, path, limit=limit, after=pages[-1]["next"]))
    return [p[key] for p in pages]


def fill(ch: Channel) -> tuple[Channel, CycleChanges]:
    """``PAIRS`` head-on pairs posted and one cycle run: their alerts and incidents."""
    for party, states in head_on_pairs(PAIRS).items():
        response = ch.client.post("/v1/tracks", json={"states": states}, headers=ch.auth(party))
        assert response.status_code == 202, response.text
    changes = cycle(ch)
    assert len(changes.new_alerts) == PAIRS and len(changes.opened) > 20
    return ch, changes


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Channel, CycleChanges]]:
    """One filled channel for the module's tests that only read it (a test that changes it fills its own)."""
    with open_channel(burst_settings(tmp_path_factory.mktemp("paging") / "channel.db"), "blue", "red") as ch:
        yield fill(ch)


@pytest.mark.parametrize("limit", [1, 7, PAIRS - 1, PAIRS, 5000])
def test_paging_returns_each_alert_once(busy: tuple[Channel, CycleChanges], limit: int) -> None:
    ch, changes = busy
    pages = every_page(ch, "/v1/alerts", "alerts", limit)
    assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit
    ids = [a["id"] for p in pages for a in p]
    assert len(ids) == len(set(ids)) == PAIRS
    assert ids == [a["id"] for a in page(ch, "/v1/alerts", limit=5000)["alerts"]]  # oldest first, as one page
    public = ch.app.state.services.public_ids
    assert set(ids) == {public.ref(a.id) for a in changes.new_alerts}


def test_paging_back_with_before_returns_the_same_alerts(busy: tuple[Channel, CycleChanges]) -> None:
    ch, _ = busy
    forward = [a["id"] for p in every_page(ch, "/v1/alerts", "alerts", 40) for a in p]
    last = page(ch, "/v1/alerts", limit=40, after=forward[-41])
    assert last["next"] is None and [a["id"] for a in last["alerts"]] == forward[-40:]
    back: list[str] = []
    previous = last["previous"]
    while previous is not None:
        found = page(ch, "/v1/alerts", limit=40, before=previous)
        back = [a["id"] for a in found["alerts"]] + back
        previous = found["previous"]
    assert back + forward[-40:] == forward


def test_cursors_are_public_ids_and_outlive_their_alert(burst_channel: Channel) -> None:
    ch, changes = fill(burst_channel)  # its own: the test moves the clock on
    first = page(ch, "/v1/alerts", limit=10)
    assert first["previous"] is None and first["next"] == first["alerts"][-1]["id"]
    assert first["next"] not in {a.id for a in changes.new_alerts}  # never a row's own number
    # Every alert clears (the aircraft go stale); the cursor still pages on: nothing is left after it.
    ch.clock.now = T0_S + 60.0
    cycle(ch)
    assert page(ch, "/v1/alerts", after=first["next"]) == {"alerts": [], "next": None, "previous": None}


@pytest.mark.parametrize(
    "query",
    [{"after": "a-x"}, {"after": "12"}, {"before": "a-0"}, {"after": "a-1", "before": "a-2"}, {"limit": 0}],
)
def test_a_bad_cursor_is_refused_with_422(busy: tuple[Channel, CycleChanges], query: dict[str, Any]) -> None:
    ch, _ = busy
    response = ch.client.get("/v1/alerts", params=query, headers=ch.auth("blue"))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("limit", [1, 6, 1000])
def test_paging_returns_each_incident_once(busy: tuple[Channel, CycleChanges], limit: int) -> None:
    ch, changes = busy
    pages = every_page(ch, "/v1/incidents", "incidents", limit)
    ids = [i["id"] for p in pages for i in p]
    assert len(ids) == len(set(ids)) == len(changes.opened)
    public = ch.app.state.services.public_ids
    assert ids == [public.public(IdKind.INCIDENT, i.id) for i in sorted(changes.opened, key=lambda i: i.id)]
    # And back from the last page, with before.
    last = page(ch, "/v1/incidents", limit=limit, after=str(ids[-limit - 1])) if limit < len(ids) else None
    if last is not None:
        assert [i["id"] for i in last["incidents"]] == ids[-limit:] and last["next"] is None
        back = page(ch, "/v1/incidents", limit=limit, before=last["previous"])
        assert [i["id"] for i in back["incidents"]] == ids[-2 * limit : -limit]
    response = ch.client.get("/v1/incidents", params={"after": "nope"}, headers=ch.auth("blue"))
    assert response.status_code == 422


def test_the_client_follows_the_pages(busy: tuple[Channel, CycleChanges]) -> None:
    ch, changes = busy
    blue = client_of(ch, "blue", with_key=False)
    whole = page(ch, "/v1/alerts", limit=5000)["alerts"]
    assert blue.alerts(page_size=7) == blue.alerts() == whole
    incidents = blue.incidents(page_size=4)
    assert len(incidents) == len(changes.opened)
    assert incidents == page(ch, "/v1/incidents", limit=1000)["incidents"]
