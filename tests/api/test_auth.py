"""Every route but health needs a valid token; the list of routes comes from the app itself.

Routes are enumerated from the app's OpenAPI document (FastAPI's public view of
every route), so a route added later is tested without editing this file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import Channel

UNAUTHENTICATED = {("GET", "/v1/health"), ("GET", "/v1/ready"), ("GET", "/metrics")}


@pytest.fixture
def channel_settings() -> dict[str, Any]:
    """Room for one failed login per route: the API has more routes than the default limit."""
    return {"login_failures_per_minute": 10_000}


def protected_routes(channel: Channel) -> list[tuple[str, str]]:
    paths = channel.app.openapi()["paths"]
    return sorted(
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in paths.items()
        for method in operations
        if (method.upper(), path) not in UNAUTHENTICATED
    )


def test_every_protected_route_declares_bearer_security(channel: Channel) -> None:
    for path, operations in channel.app.openapi()["paths"].items():
        for method, operation in operations.items():
            if (method.upper(), path) not in UNAUTHENTICATED:
                assert operation.get("security") == [{"HTTPBearer": []}], (method, path)


def test_the_route_list_covers_the_api(channel: Channel) -> None:
    listed = set(protected_routes(channel))
    assert {
        ("GET", "/v1/parties/me"),
        ("GET", "/v1/parties"),
        ("POST", "/v1/operations"),
        ("GET", "/v1/operations"),
        ("GET", "/v1/operations/x"),
        ("PUT", "/v1/operations/x"),
        ("POST", "/v1/operations/x/withdraw"),
        ("GET", "/v1/conflicts"),
        ("GET", "/v1/catalogue"),
        ("POST", "/v1/messages"),
        ("GET", "/v1/messages"),
        ("GET", "/v1/messages/x"),
        ("POST", "/v1/messages/x/ack"),
        ("GET", "/v1/escalations"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/audit/key"),
    } <= listed
    # Everything the API serves is versioned, so nothing escapes the list above.
    assert all(path.startswith("/v1/") for _, path in listed)


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic Ymx1ZTpibHVl", "Bearer", "Bearer ", "bearer-token", "Bearer not-a-token", "REVOKED"],
    ids=["missing", "basic", "bearer-without-token", "bearer-empty", "no-scheme", "unknown", "revoked"],
)
def test_every_protected_route_answers_401_with_www_authenticate(
    channel: Channel, authorization: str | None
) -> None:
    headers = {"If-Match": '"1"'}
    if authorization == "REVOKED":
        headers["Authorization"] = f"Bearer {channel.tokens['gone']}"
    elif authorization is not None:
        headers["Authorization"] = authorization
    for method, path in protected_routes(channel):
        body = {"type": "FeatureCollection", "id": "x", "features": []} if method in ("POST", "PUT") else None
        response = channel.client.request(method, path, headers=headers, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
        assert "detail" in response.json()


def test_health_and_docs_need_no_token(channel: Channel) -> None:
    health = channel.client.get("/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert channel.client.get("/docs").status_code == 200
    schema = channel.client.get("/openapi.json").json()
    assert "/v1/operations" in schema["paths"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_me_names_the_tokens_party(channel: Channel) -> None:
    for party in ("blue", "red"):
        response = channel.client.get("/v1/parties/me", headers=channel.auth(party))
        assert response.status_code == 200
        body = response.json()
        assert body["name"] == party
        assert body["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_the_directory_lists_names_and_public_keys_only(channel: Channel) -> None:
    response = channel.client.get("/v1/parties", headers=channel.auth("blue"))
    assert response.status_code == 200
    listed = {p["name"]: p for p in response.json()}
    assert listed.keys() == set(channel.tokens)
    for name, entry in listed.items():
        assert set(entry) == {"name", "public_key_pem", "revoked"}
        assert entry["revoked"] is (name == "gone")
        me = channel.client.get("/v1/parties/me", headers=channel.auth(name)) if name != "gone" else None
        if me is not None:
            assert me.json()["public_key_pem"] == entry["public_key_pem"]
    for token in channel.tokens.values():
        assert token not in response.text
