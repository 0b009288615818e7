"""Every route and method, as the owner, the counterparty and a third party: no byte too many.

The routes come from the app's OpenAPI document, so a route added later is in
the matrix without editing this file. Blue owns the data: a plan with
distinctive ids, texts and coordinates, and a message to red. Red (the other
side of the conflict and the message) may learn the conflict's shared facts and
the message; green, a third party, may learn nothing of either. Every body
each of them can obtain, from every route with every id that exists, is
searched for the strings the rules withhold from them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import (
    BLUE_CIRCLE,
    BLUE_OPERATION,
    Channel,
    blue_plan,
    forbidden_strings,
    red_plan,
    send,
)
from tests.api.test_conformance import IN_RED
from tests.api.test_conformance import state as track_state
from tests.api.test_tracks import BLUE_SECRETS, RED_SECRETS, cycle, fly, post, track
from tests.builders import T0_S

# What blue tells red (nothing of blue's plan in it): red reads it, green never.
SECRET_TEXT = "Keep clear of R-45 until 14:00, callsign HARBOUR-2291"

# Blue's aircraft that strays out of blue's plans into red's: red sees where it is, never these.
STRAY_SECRETS = ("BLU404", "NIGHTOWL")
# Routes that need no token (they are public by design, and carry no party's data).
PUBLIC = {"/v1/health", "/v1/ready", "/metrics"}
# Filler for path parameters nobody owns, so a route is still reached.
MISSING = "999999"


def _routes(channel: Channel) -> list[tuple[str, str]]:
    paths = channel.app.openapi()["paths"]
    return sorted((method.upper(), path) for path, operations in paths.items() for method in operations)


def _fill(path: str, ids: dict[str, list[str]]) -> Iterator[tuple[str, bool]]:
    """The path with each parameter set to each id that exists for it (and one that does not).

    Yields ``(path, existing)``: ``existing`` when some parameter names a seeded id.
    """
    names = re.findall(r"\{([^}]+)\}", path)
    if not names:
        yield path, False
        return
    name = names[0]
    kind = next((k for k in ids if k in name), None)
    for value in [*(ids[kind] if kind else []), MISSING]:
        for filled, existing in _fill(path.replace("{" + name + "}", value, 1), ids):
            yield filled, existing or value != MISSING


@pytest.fixture
def seeded(channel: Channel) -> dict[str, list[str]]:
    """Blue's plan and red's conflicting one, a message blue -> red, tracks with an alert and an
    incident between blue's and red's aircraft (and aircraft of each far away), then a blue aircraft
    off blue's plans inside red's (a non-conformance alert red is told of); the ids of everything."""
    filed = channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    assert filed.status_code == 201, filed.text
    red = channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    assert red.status_code == 201, red.text
    conflicts = [str(c["id"]) for c in red.json()["conflicts"]]
    assert conflicts, "the seed must hold a conflict"
    message = send(channel, "blue", to="red", code="FREE", params={}, text=SECRET_TEXT)
    fly(channel, range(0, 121))  # BLU101 and RED707 head-on: an alert, then an incident
    incidents = channel.client.get("/v1/incidents", headers=channel.auth("red")).json()["incidents"]
    assert incidents, "the seed must hold an incident"
    channel.clock.now = T0_S + 31 * 60  # red's plan is active from 12:30
    later_s = channel.clock.now - T0_S
    post(
        channel,
        "blue",
        track_state(STRAY_SECRETS[0], IN_RED, channel.clock.now, STRAY_SECRETS[1]),
        track("BLU101", 0.0, 90.0, later_s, callsign="VIPER1"),  # still flying: the owner sees its own
        track("BLU202", 20.0, 0.0, later_s, callsign="TANKER2"),
    )
    cycle(channel)
    return {
        "operation": [BLUE_OPERATION, "red-op"],
        "conflict": conflicts,
        "message": [str(message["id"])],
        "incident": [str(i["id"]) for i in incidents],
    }


def _bodies(channel: Channel, party: str, ids: dict[str, list[str]]) -> Iterator[tuple[str, bool, int, str]]:
    """(request, names a seeded id, status, body) of every route as ``party``.

    Reads with every id; writes with empty bodies (refused, so nothing changes).
    """
    for method, template in _routes(channel):
        for path, existing in _fill(template, ids):
            headers = {**channel.auth(party), "If-Match": '"1"'}
            body: Any = {} if method in ("POST", "PUT", "PATCH") else None
            for query in [None, *_formats(channel, method, template)]:
                response = channel.client.request(method, path, headers=headers, json=body, params=query)
                request = f"{method} {path}" + ("" if query is None else f"?format={query['format']}")
                yield request, existing, response.status_code, _without_echo(response.text, path)


def _formats(channel: Channel, method: str, template: str) -> list[dict[str, str]]:
    """A ``format`` query for each download format the route offers (``?format=kml``, ...)."""
    operation = channel.app.openapi()["paths"][template][method.lower()]
    found: list[dict[str, str]] = []
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "format" and parameter["in"] == "query":
            schema = parameter["schema"]
            options = schema.get("anyOf", [schema])
            found += [{"format": v} for o in options for v in o.get("enum", [o.get("const")]) if v]
    return found


def _without_echo(text: str, path: str) -> str:
    """The body without the ids the caller itself put in the path ("no operation 'x'" tells nothing).

    That such an answer is the same whether the id exists or not is checked by
    :func:`test_not_found_is_the_same_for_existing_and_missing_ids`.
    """
    for segment in path.split("/"):
        if len(segment) > 5 and not segment.isdigit():  # a named id; numbers and route words stay
            text = text.replace(segment, "<echo>")
    return text


def test_the_owner_reads_its_own_data_so_the_search_has_teeth(
    channel: Channel, seeded: dict[str, list[str]]
) -> None:
    bodies = list(_bodies(channel, "blue", seeded))
    seen = "".join(text for _, _, _, text in bodies)
    requests = {request for request, _, _, _ in bodies}
    assert {"GET /v1/conflicts?format=kml", "GET /v1/incidents?format=kml"} <= requests  # downloads too
    for own in (BLUE_OPERATION, json.dumps(BLUE_CIRCLE[0]), SECRET_TEXT, *BLUE_SECRETS, *STRAY_SECRETS):
        assert own in seen
    assert '"kind":"non_conformance"' in seen.replace(" ", "")


def test_the_counterparty_learns_only_the_shared_facts(
    channel: Channel, seeded: dict[str, list[str]]
) -> None:
    statuses = set()
    seen = ""
    for request, _, status, text in _bodies(channel, "red", seeded):
        assert status < 500, (request, text)
        statuses.add(status)
        seen += text
        for secret in [*forbidden_strings(), *BLUE_SECRETS, *STRAY_SECRETS]:
            assert secret not in text, f"{request} discloses {secret!r} to red"
    assert SECRET_TEXT in seen  # the message blue sent red is red's to read
    assert '"other_party":"blue"' in seen.replace(" ", "")  # and the alert with blue's aircraft
    # Blue's stray in red's space: red is told where it is, as of an alert (the minimal facts).
    assert '"kind":"non_conformance","level":"warning","own_id":null,"other_party":"blue"' in seen.replace(
        " ", ""
    )
    assert 200 in statuses and 404 in statuses


def test_a_third_party_learns_nothing_of_the_others(channel: Channel, seeded: dict[str, list[str]]) -> None:
    withheld = [
        *forbidden_strings(),
        SECRET_TEXT,
        "red-op",
        "red-v1",
        *BLUE_SECRETS,
        *RED_SECRETS,
        *STRAY_SECRETS,
    ]
    reached = 0
    for request, existing, status, text in _bodies(channel, "green", seeded):
        assert status < 500, (request, text)
        reached += 1
        for secret in withheld:
            assert secret not in text, f"{request} discloses {secret!r} to green"
        if existing and request.startswith("GET "):
            assert status == 404, (request, status)  # somebody else's: not found, never forbidden
    assert reached >= len(_routes(channel))
    print(f"disclosure matrix: {len(_routes(channel))} routes, {reached} requests as a third party")


def test_every_route_is_in_the_matrix_and_protected_unless_public(channel: Channel) -> None:
    for method, path in _routes(channel):
        operation = channel.app.openapi()["paths"][path][method.lower()]
        if path in PUBLIC:
            continue
        assert operation.get("security") == [{"HTTPBearer": []}], (method, path)


def test_not_found_is_the_same_for_existing_and_missing_ids(
    channel: Channel, seeded: dict[str, list[str]]
) -> None:
    green = channel.auth("green")
    for template, kind in [
        ("/v1/operations/{}", "operation"),
        ("/v1/conflicts/{}", "conflict"),
        ("/v1/messages/{}", "message"),
        ("/v1/incidents/{}", "incident"),
    ]:
        for existing in seeded[kind]:
            found = channel.client.get(template.format(existing), headers=green)
            missing = channel.client.get(template.format(MISSING), headers=green)
            assert found.status_code == missing.status_code == 404
            assert found.text.replace(existing, "ID") == missing.text.replace(MISSING, "ID")
