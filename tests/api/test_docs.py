"""``GET /docs`` and ``GET /favicon.ico``: Swagger UI from the service's own files, so it works air-gapped."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.api.routers.docs import DOCS_FILES, FAVICON
from deconflict.api.routers.ui import ui_root
from deconflict.config import Settings

PACKAGED_UI = ui_root(Settings())


class _References(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found


@pytest.fixture
def packaged(tmp_path: Path) -> Iterator[TestClient]:
    missing = [name for name in DOCS_FILES if not (PACKAGED_UI / "vendor" / name).is_file()]
    assert not missing, f"run `make vendor`: {missing} not in {PACKAGED_UI / 'vendor'}"
    with TestClient(create_app(Settings(db_path=tmp_path / "channel.db"))) as client:
        yield client


def test_docs_reference_no_other_host_and_every_asset_is_served(packaged: TestClient) -> None:
    page = packaged.get("/docs")
    assert page.status_code == 200
    # No absolute URL at all (http://, https:// or protocol-relative //): nothing leaves the server.
    assert not re.findall(r"(?:https?:)?//[\w.-]+", page.text), page.text
    assert 'validatorUrl": null' in page.text  # Swagger UI's badge would call validator.swagger.io
    linked = references(page.text)
    assert {"/ui/vendor/swagger-ui/swagger-ui-bundle.js", "/ui/vendor/swagger-ui/swagger-ui.css"} <= set(
        linked
    )
    assert "/favicon.ico" in linked
    for path in [*linked, "/openapi.json"]:
        answer = packaged.get(path)
        assert answer.status_code == 200, path
        assert len(answer.content) > 0, path
    assert "javascript" in packaged.get("/ui/vendor/swagger-ui/swagger-ui-bundle.js").headers["content-type"]
    # The browser enforces it too: the page may load from its own server only.
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy


def test_redoc_which_would_load_from_a_cdn_is_off(packaged: TestClient) -> None:
    assert packaged.get("/redoc").status_code == 404


def test_the_favicon_is_served_and_linked_from_the_map(packaged: TestClient) -> None:
    icon = packaged.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content == (PACKAGED_UI / FAVICON).read_bytes() and b"<svg" in icon.content
    assert "/favicon.ico" in references(packaged.get("/").text)


def test_docs_without_their_assets_say_so_and_point_to_the_api_description(tmp_path: Path) -> None:
    ui = tmp_path / "ui"
    shutil.copytree(PACKAGED_UI, ui, ignore=shutil.ignore_patterns("vendor"))
    with TestClient(create_app(Settings(db_path=tmp_path / "channel.db", ui_dir=ui))) as client:
        page = client.get("/docs")
    assert page.status_code == 200
    assert "API docs assets missing: run make" in page.text
    assert all(name in page.text for name in DOCS_FILES)
    assert references(page.text) == ["/openapi.json"]
