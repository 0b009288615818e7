"""Parser fuzzing through the API: mutated plans and message params get a 4xx naming the field.

Mutated bodies (wrong types, NaN and infinities as JavaScript writes them,
huge numbers, odd unicode, deep nesting, missing keys) are posted as raw JSON.
The answer is a 2xx or a 4xx, never a 5xx; a 422 names a field path for each
problem; and a refused request changes nothing stored: the operations, the
message boxes and the length of the audit chain are as before.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.api.deps import Services
from deconflict.channel.messages import MessageContent, sign_content
from deconflict.config import Settings
from tests.api.conftest import Channel, open_channel
from tests.builders import box_feature, message_body, plan
from tests.channel.test_catalogue_fuzz import VALID_PARAMS
from tests.mutations import mutated_document

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PLAN = plan("op-fuzz", box_feature("v1", 10.0, 45.0, 10.1, 45.1), box_feature("v2", 11.0, 45.0, 11.1, 45.1))
_nonces = itertools.count()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channel]:
    """Blue and red; blue has one operation (op-base, version 1) to amend."""
    config = Settings(db_path=tmp_path_factory.mktemp("api-fuzz") / "channel.db", messages_per_minute=10**6)
    with open_channel(config, "blue", "red") as channel:
        base = plan("op-base", box_feature("v1", 20.0, 45.0, 20.1, 45.1))
        assert (
            channel.client.post("/v1/operations", json=base, headers=channel.auth("blue")).status_code == 201
        )
        yield channel


def stored(channel: Channel) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    services: Services = channel.app.state.services
    return (
        [(op.id, op.version, op.state) for op in services.store.list_operations("blue")],
        len(services.messages.list_messages("blue", "outbox")),
        len(services.messages.list_messages("red", "inbox")),
        len(services.audit.entries()),
    )


def post_raw(channel: Channel, method: str, path: str, document: Any, **headers: str) -> Any:
    data = json.dumps(document)  # allow_nan: NaN and Infinity as a JavaScript client would send them
    return channel.client.request(
        method,
        path,
        content=data.encode(),
        headers=channel.auth("blue", content_type="application/json", **headers),
    )


def assert_refused_cleanly(channel: Channel, response: Any, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.text
    if response.status_code < 300:
        return
    assert 400 <= response.status_code < 500
    assert stored(channel) == before, response.text
    if response.status_code == 422:
        for problem in response.json()["detail"]:
            assert problem["msg"]
            assert problem["field"] or problem["record"] or problem["source"] != "request", problem


@FUZZ
@given(mutated_document(PLAN))
def test_a_mutated_plan_is_filed_or_refused_without_a_trace(fuzzed: Channel, document: Any) -> None:
    before = stored(fuzzed)
    response = post_raw(fuzzed, "POST", "/v1/operations", document)
    assert_refused_cleanly(fuzzed, response, before)
    if response.status_code == 201:  # a harmless mutation: take it back so the next one starts clean
        version = response.json()["operation"]["version"]
        withdrawn = fuzzed.client.post(
            f"/v1/operations/{response.json()['operation']['id']}/withdraw",
            headers=fuzzed.auth("blue", If_Match=f'"{version}"'),
        )
        assert withdrawn.status_code == 200, withdrawn.text


@FUZZ
@given(mutated_document({**PLAN, "id": "op-base"}))
def test_a_mutated_amendment_is_refused_without_a_trace(fuzzed: Channel, document: Any) -> None:
    before = stored(fuzzed)
    current = fuzzed.client.get("/v1/operations/op-base", headers=fuzzed.auth("blue")).headers["ETag"]
    response = post_raw(fuzzed, "PUT", "/v1/operations/op-base", document, If_Match=current)
    assert_refused_cleanly(fuzzed, response, before)


def fuzz_body(channel: Channel, code: str, params: Any, text: str = "") -> dict[str, Any]:
    """A message from blue to red, signed if its params can be (else an invalid signature)."""
    nonce = f"api-fuzz-nonce-{next(_nonces):08d}"
    content = MessageContent("blue", "red", code, params, text, None, nonce)
    try:
        signature = sign_content(content, channel.keys["blue"])
    except ValueError:  # params canonical JSON cannot carry (NaN): the server must still refuse cleanly
        signature = "AAAA"
    return message_body(content, signature)


@pytest.mark.parametrize("code", ["UNSAFE_ENCOUNTER_REPORT", "NOTICE_OF_OPERATION", "TRAFFIC_ADVISORY"])
@FUZZ
@given(data=st.data())
def test_mutated_message_params_are_sent_or_refused_without_a_trace(
    fuzzed: Channel, code: str, data: st.DataObject
) -> None:
    params = data.draw(mutated_document(VALID_PARAMS[code]))
    before = stored(fuzzed)
    response = post_raw(fuzzed, "POST", "/v1/messages", fuzz_body(fuzzed, code, params))
    assert_refused_cleanly(fuzzed, response, before)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_params_are_422_naming_the_field(fuzzed: Channel, value: str) -> None:
    before = stored(fuzzed)
    document = fuzz_body(fuzzed, "UNSAFE_ENCOUNTER_REPORT", {**VALID_PARAMS["UNSAFE_ENCOUNTER_REPORT"]})
    text = json.dumps(document).replace('"horizontal_m": 1200.5', f'"horizontal_m": {value}')
    response = fuzzed.client.post(
        "/v1/messages", content=text.encode(), headers=fuzzed.auth("blue", content_type="application/json")
    )
    assert response.status_code == 422, response.text
    assert "params.horizontal_m" in [p["field"] for p in response.json()["detail"]]
    assert stored(fuzzed) == before


def test_deeply_nested_bodies_are_refused_cleanly(fuzzed: Channel) -> None:
    before = stored(fuzzed)
    for path in ("/v1/operations", "/v1/messages"):
        response = fuzzed.client.post(
            path,
            content=b"[" * 100_000 + b"]" * 100_000,
            headers=fuzzed.auth("blue", content_type="application/json"),
        )
        assert 400 <= response.status_code < 500, (path, response.text)
    assert stored(fuzzed) == before
