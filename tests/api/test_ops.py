"""Operations endpoints and request observation: readiness, request ids, JSON access logs, metrics."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from deconflict.api import create_app
from deconflict.api.middleware import ACCESS_LOGGER, JsonLogFormatter, logging_config
from deconflict.api.problems import error_response
from deconflict.config import Settings
from deconflict.errors import StorageUnavailableError
from deconflict.storage.sqlite.migrations import LATEST_VERSION
from tests.api.conftest import Channel, blue_plan, red_plan, send
from tests.builders import T0_S
from tests.fakes import FakeClock

OPERATOR_TOKEN = "operator-token-of-the-tests"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    """The channel of these tests shows its metrics to the operator token."""
    return {"metrics_token": OPERATOR_TOKEN}


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """What the access logger writes, formatted as the server's JSON lines."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _db(channel: Channel) -> Path:
    return Path(channel.app.state.services.settings.db_path)


def _set_user_version(path: Path, version: int) -> None:
    raw = sqlite3.connect(path)
    try:
        raw.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        raw.close()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _requests(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], route: str, status: int
) -> float:
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "deconflict_http_requests_total"
        and ("route", route) in labels
        and ("status", str(status)) in labels
    )


# -- readiness ------------------------------------------------------------------------------------


def test_ready_when_the_database_answers_at_the_latest_version(channel: Channel) -> None:
    response = channel.client.get("/v1/ready")  # no token
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "reason": None}


@pytest.mark.parametrize("version", [LATEST_VERSION - 1, LATEST_VERSION + 1])
def test_not_ready_at_another_schema_version(channel: Channel, version: int) -> None:
    _set_user_version(_db(channel), version)
    try:
        response = channel.client.get("/v1/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not ready"
        assert f"schema version {version}" in body["reason"] and str(LATEST_VERSION) in body["reason"]
    finally:
        _set_user_version(_db(channel), LATEST_VERSION)
    assert channel.client.get("/v1/ready").status_code == 200


def test_not_ready_when_the_database_file_is_gone(channel: Channel) -> None:
    db = _db(channel)
    moved = db.with_suffix(".moved")
    db.rename(moved)
    try:
        response = channel.client.get("/v1/ready")
        assert response.status_code == 503
        assert "no such file" in response.json()["reason"]
    finally:
        moved.rename(db)
    assert channel.client.get("/v1/ready").status_code == 200


# -- request ids and logs ---------------------------------------------------------------------------


def test_the_request_id_is_kept_or_made_and_returned(channel: Channel) -> None:
    given = channel.client.get("/v1/health", headers={"X-Request-ID": "ops-centre:42.a_b-c"})
    assert given.headers["X-Request-ID"] == "ops-centre:42.a_b-c"
    made = channel.client.get("/v1/health").headers["X-Request-ID"]
    again = channel.client.get("/v1/health").headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0 and made != again
    for bad in ("has space", "x" * 129, 'quote"', ""):
        returned = channel.client.get("/v1/health", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert returned != bad and len(returned) == 32


def test_one_json_line_per_request_with_the_party_and_never_a_token(
    channel: Channel, access_log: io.StringIO
) -> None:
    token = channel.tokens["blue"]
    ok = channel.client.get(
        f"/v1/conflicts?token={token}&key=secret-key-value",
        headers={**channel.auth("blue"), "X-Request-ID": "req-1", "X-Api-Key": "secret-key-value"},
    )
    assert ok.status_code == 200
    refused = channel.client.get("/v1/conflicts", headers={"Authorization": f"Bearer {token}x"})
    assert refused.status_code == 401
    assert channel.client.get("/v1/health").status_code == 200
    lines = _lines(access_log)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/v1/conflicts", 200),
        ("GET", "/v1/conflicts", 401),
        ("GET", "/v1/health", 200),
    ]
    first = lines[0]
    assert first["request_id"] == "req-1" and first["party"] == "blue"
    assert first["duration_ms"] >= 0.0 and first["time"].endswith("Z") and first["level"] == "info"
    assert "party" not in lines[1] and "party" not in lines[2]
    assert lines[1]["request_id"] == refused.headers["X-Request-ID"]
    text = access_log.getvalue()
    for secret in (token, "secret-key-value", "Bearer", "Authorization"):
        assert secret not in text


def test_requests_with_a_body_and_a_signature_log_no_secrets(
    channel: Channel, access_log: io.StringIO
) -> None:
    sent = send(channel, "blue", to="red")
    (line,) = _lines(access_log)
    assert (line["method"], line["path"], line["status"], line["party"]) == (
        "POST",
        "/v1/messages",
        201,
        "blue",
    )
    text = access_log.getvalue()
    for secret in (channel.tokens["blue"], sent["signature"], sent["text"], "PRIVATE KEY"):
        assert secret not in text


def test_the_json_formatter_writes_plain_records_as_messages() -> None:
    record = logging.LogRecord("deconflict.x", logging.WARNING, __file__, 1, "disk %s%% full", (93,), None)
    document = json.loads(JsonLogFormatter().format(record))
    assert (document["level"], document["logger"], document["message"]) == (
        "warning",
        "deconflict.x",
        "disk 93% full",
    )


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_logging_config_is_valid(log_format: str) -> None:
    config = logging_config(log_format)  # type: ignore[arg-type]
    assert config["formatters"][log_format]
    assert config["handlers"]["default"]["formatter"] == log_format
    logging.config.dictConfig({**config, "loggers": {}, "handlers": {}, "root": {}})  # the formatters build


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'json' or 'text'"):
        logging_config("xml")  # type: ignore[arg-type]


# -- metrics ----------------------------------------------------------------------------------------


def test_metrics_answer_the_operator_token_only_and_are_not_in_the_api_document(
    channel: Channel, tmp_path: Path
) -> None:
    assert channel.client.get("/metrics", headers=OPERATOR).status_code == 200
    for headers in ({}, channel.auth("blue"), {"Authorization": "Bearer operator-token-of-the-test"}):
        refused = channel.client.get("/metrics", headers=headers)
        assert (refused.status_code, refused.json()) == (404, {"detail": "Not Found"})  # as a missing path
    assert "/metrics" not in channel.app.openapi()["paths"]
    without = create_app(Settings(db_path=tmp_path / "other.db"), clock=FakeClock(T0_S))
    with TestClient(without) as client:  # no operator token set: no metrics on the party port at all
        assert client.get("/metrics", headers=OPERATOR).status_code == 404


def test_metrics_count_requests_by_route_template(channel: Channel) -> None:
    for _ in range(3):
        channel.client.get("/v1/conflicts", headers=channel.auth("blue"))
    channel.client.get("/v1/conflicts")  # 401
    sent = send(channel, "blue", to="red")
    channel.client.get(f"/v1/messages/{sent['id']}", headers=channel.auth("red"))
    channel.client.get("/v1/messages/999999", headers=channel.auth("red"))  # 404
    channel.client.get("/no/such/path")
    response = channel.client.get("/metrics", headers=OPERATOR)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert _requests(samples, "/v1/conflicts", 200) == 3
    assert _requests(samples, "/v1/conflicts", 401) == 1
    assert _requests(samples, "/v1/messages/{message_id}", 200) == 1
    assert _requests(samples, "/v1/messages/{message_id}", 404) == 1
    assert _requests(samples, "<unmatched>", 404) == 1
    assert not any("999999" in str(labels) for _, labels in samples)
    count = samples[
        "deconflict_http_request_duration_seconds_count", (("method", "GET"), ("route", "/v1/conflicts"))
    ]
    assert count == 4
    for party in ("blue", "red", "green"):  # no label names a party
        assert f'"{party}"' not in response.text


def test_metrics_show_open_conflicts_overdue_messages_and_event_connections(channel: Channel) -> None:
    def gauges() -> dict[str, float]:
        samples = _samples(channel.client.get("/metrics", headers=OPERATOR).text)
        return {name: value for (name, labels), value in samples.items() if not labels}

    before = gauges()
    assert (before["deconflict_open_conflicts"], before["deconflict_overdue_messages"]) == (0, 0)
    assert before["deconflict_event_connections"] == 0
    channel.client.post("/v1/operations", json=red_plan(), headers=channel.auth("red"))
    channel.client.post("/v1/operations", json=blue_plan(), headers=channel.auth("blue"))
    send(channel, "blue", to="red")  # reply by T0 + 1800 s
    assert gauges()["deconflict_open_conflicts"] == 1
    assert gauges()["deconflict_overdue_messages"] == 0
    channel.clock.advance(1800.0)
    assert gauges()["deconflict_overdue_messages"] == 1
    with channel.client.websocket_connect("/v1/events", headers=channel.auth("green")) as ws:
        assert ws.receive_json()["type"] == "ready"  # subscribed: the connection counts from here
        assert gauges()["deconflict_event_connections"] == 1
    assert gauges()["deconflict_event_connections"] == 0


def test_metrics_show_the_live_picture(channel: Channel) -> None:
    state = {
        "id": "A1",
        "time": "2026-01-01T12:00:00Z",
        "lat_deg": 48.0,
        "lon_deg": 2.0,
        "alt_m": 3000.0,
        "gs_mps": 120.0,
        "trk_deg": 90.0,
        "vs_mps": 0.0,
    }
    posted = channel.client.post("/v1/tracks", json={"states": [state]}, headers=channel.auth("blue"))
    assert posted.status_code == 202, posted.text
    samples = _samples(channel.client.get("/metrics", headers=OPERATOR).text)
    assert samples["deconflict_tracked_aircraft", ()] == 1
    assert samples["deconflict_active_alerts", ()] == 0


def test_two_apps_in_one_process_count_apart(tmp_path: Path, channel: Channel) -> None:
    settings = Settings(db_path=tmp_path / "other.db", metrics_token=OPERATOR_TOKEN)
    other = create_app(settings, clock=FakeClock(T0_S))
    with TestClient(other) as client:
        for _ in range(2):
            client.get("/v1/health")
        channel.client.get("/v1/health")
        mine = _samples(channel.client.get("/metrics", headers=OPERATOR).text)
        theirs = _samples(client.get("/metrics", headers=OPERATOR).text)
    assert _requests(theirs, "/v1/health", 200) == 2
    assert _requests(mine, "/v1/health", 200) == 1


def test_a_database_out_of_reach_is_503_with_retry_after_not_a_500() -> None:
    text = (
        "database postgresql://app@db:5432/channel: unavailable (no connection within 3 s); try again in 3 s"
    )
    response = error_response(StorageUnavailableError(text, retry_after_s=3))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert json.loads(response.body) == {"detail": text}


class _Bus:
    """An event relay as ``/v1/ready`` asks it (storage.relay.EventRelay.problem)."""

    def __init__(self, problem: str | None) -> None:
        self._problem = problem

    def problem(self) -> str | None:
        return self._problem


def test_not_ready_while_the_event_bus_is_out_of_reach(channel: Channel) -> None:
    app = channel.client.app
    app.state.relay = _Bus("event bus nats://127.0.0.1:4222: not connected")  # type: ignore[attr-defined]
    try:
        response = channel.client.get("/v1/ready")
        assert response.status_code == 503
        assert response.json()["reason"] == "event bus nats://127.0.0.1:4222: not connected"
        app.state.relay = _Bus(None)  # type: ignore[attr-defined]
        assert channel.client.get("/v1/ready").status_code == 200
    finally:
        del app.state.relay  # type: ignore[attr-defined]
