"""Contract fuzzing: every operation of the app's own OpenAPI document, as an authenticated party.

Schemathesis generates requests from the document (valid and invalid
parameters, headers and bodies) and checks every answer: never a 5xx, a status
code the operation documents, a body and headers that match the documented
schema. The operations come from the app itself, so a route added later is
fuzzed without editing this file.

The app runs in process (TestClient) on a database with two parties that have
operations in conflict and messages both ways. ``FUZZ_EXAMPLES`` sets the
examples per operation (25 by default; ``make fuzz`` runs 500).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from deconflict.api import create_app
from deconflict.config import Settings
from tests.api.conftest import Channel, open_channel, signed_body
from tests.builders import box_feature, plan

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
"""Examples per operation."""


def _document() -> schemathesis.BaseSchema:
    """The app's OpenAPI document; the app is never started here (no database is opened)."""
    app = create_app(Settings(db_path=Path("never-opened.db")))
    return schemathesis.openapi.from_dict(app.openapi())


schema = _document()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channel]:
    """Blue and red, with overlapping operations (so conflicts) and messages both ways."""
    root = tmp_path_factory.mktemp("fuzz")
    # The rate of messages is limited per party; fuzzing sends more than a party would.
    # Fuzzing sends many requests without a token from one address: no failed-login limit here.
    config = Settings(
        db_path=root / "channel.db", messages_per_minute=1_000_000, login_failures_per_minute=1_000_000
    )
    with open_channel(config, "blue", "red") as channel:
        client = channel.client
        for party, lon in (("blue", 10.0), ("red", 10.05)):
            for n in range(2):
                document = plan(f"op-{n}", box_feature("v1", lon + n, 45.0, lon + n + 0.1, 45.1))
                filed = client.post("/v1/operations", json=document, headers=channel.auth(party))
                assert filed.status_code == 201, filed.text
        for sender, to in (("blue", "red"), ("red", "blue"), ("blue", "red")):
            signed = signed_body(channel, sender, to=to)
            sent = client.post("/v1/messages", json=signed, headers=channel.auth(sender))
            assert sent.status_code == 201, sent.text
        conflicts = client.get("/v1/conflicts", headers=channel.auth("blue")).json()
        assert conflicts, "the fixture's operations must conflict"
        yield channel


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case, fuzzed: Channel) -> None:
    kwargs = case.as_transport_kwargs(headers=fuzzed.auth("blue"))
    assert not kwargs.pop("cookies", None), "the API documents no cookies"
    if isinstance(kwargs.get("data"), bytes | str):  # a raw body: the test client calls it content
        kwargs["content"] = kwargs.pop("data")
    response = fuzzed.client.request(**kwargs)
    assert response.status_code < 500, (kwargs, response.text)
    # The token is always valid here, so what ignored_auth probes is tested by test_auth.py instead
    # (every route, missing, malformed, unknown and revoked tokens).
    # A request can match the schema and still be refused: a signature that does not verify, a
    # GeoJSON feature that is not one, a missing If-Match (428). Those answers are documented
    # (422 with the problems, 428), so positive_data_acceptance does not apply.
    # negative_data_rejection does not hold either: the token is added to every request, also to
    # those generated without one, and unknown query parameters are ignored by design.
    excluded = [
        schemathesis.checks.ignored_auth,
        schemathesis.checks.positive_data_acceptance,
        schemathesis.checks.negative_data_rejection,
    ]
    case.validate_response(response, excluded_checks=excluded)
