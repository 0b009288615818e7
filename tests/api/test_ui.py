"""``GET /`` and ``/ui/...``: the web map's files, and a plain notice when its vendor assets are missing."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deconflict.api import create_app
from deconflict.api.routers.ui import ASSETS_MISSING_TEXT, VENDOR_FILES, missing_vendor_files, ui_root
from deconflict.config import Settings

PACKAGED_UI = ui_root(Settings())


def _ui_copy(folder: Path, *, vendor: bool) -> Path:
    """The packaged page's own files in ``folder``; with stand-in vendor files when ``vendor``."""
    folder.mkdir()
    for path in PACKAGED_UI.glob("*"):
        if path.is_file():
            shutil.copy(path, folder / path.name)
    if vendor:
        (folder / "vendor").mkdir()
        for name in VENDOR_FILES:
            (folder / "vendor" / name).write_text(f"/* {name} */\n")
    return folder


def _client(tmp_path: Path, ui_dir: Path) -> Iterator[TestClient]:
    app = create_app(Settings(db_path=tmp_path / "channel.db", ui_dir=ui_dir))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def served(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, _ui_copy(tmp_path / "ui", vendor=True))


@pytest.fixture
def served_without_vendor(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, _ui_copy(tmp_path / "ui", vendor=False))


def test_the_package_has_the_page_and_its_modules() -> None:
    page = (PACKAGED_UI / "index.html").read_text()
    scripts = re.findall(r'src="/ui/([^"]+)"', page) + re.findall(r'href="/ui/([^"]+)"', page)
    assert "app.js" in scripts and "app.css" in scripts
    own = [s for s in scripts if not s.startswith("vendor/")]
    for name in own:
        assert (PACKAGED_UI / name).is_file(), name
    # Every vendor file the page loads is one the Makefile copies and the server checks for.
    assert {s.removeprefix("vendor/") for s in scripts if s.startswith("vendor/")} <= set(VENDOR_FILES)
    # ES modules import only files of the folder, by relative path (no network, no build step).
    for module in PACKAGED_UI.glob("*.js"):
        for imported in re.findall(r'from "([^"]+)"', module.read_text()):
            assert imported.startswith("./"), (module.name, imported)
            assert (PACKAGED_UI / imported).is_file(), (module.name, imported)


def test_index_is_served_without_a_token(served: TestClient) -> None:
    response = served.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/app.js">' in response.text
    assert ASSETS_MISSING_TEXT not in response.text
    # Only the page's own scripts run, and it talks only to its own server.
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "<script>" not in response.text  # no inline script the policy would block


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("app.js", "javascript"),
        ("map.js", "javascript"),
        ("app.css", "text/css"),
        ("vendor/leaflet.js", "javascript"),
        ("vendor/countries-50m.json", "application/json"),
    ],
)
def test_assets_are_served_with_their_type(
    served: TestClient, tmp_path: Path, path: str, content_type: str
) -> None:
    response = served.get(f"/ui/{path}")
    assert response.status_code == 200, response.text
    assert content_type in response.headers["content-type"]
    assert response.content == (tmp_path / "ui" / path).read_bytes()


@pytest.mark.parametrize(
    "path",
    ["nope.js", "../channel.db", "..%2Fchannel.db", "vendor/../../channel.db", "index.py", "vendor"],
)
def test_nothing_outside_the_page_is_served(served: TestClient, tmp_path: Path, path: str) -> None:
    (tmp_path / "ui" / "index.py").write_text("secret = 1\n")
    response = served.get(f"/ui/{path}")
    assert response.status_code == 404
    assert "secret" not in response.text


def test_missing_vendor_files_are_named_on_the_page(served_without_vendor: TestClient) -> None:
    response = served_without_vendor.get("/")
    assert response.status_code == 200
    assert ASSETS_MISSING_TEXT in response.text
    assert 'role="alert"' in response.text
    for name in VENDOR_FILES:
        assert name in response.text
    assert served_without_vendor.get("/ui/vendor/leaflet.js").status_code == 404


def test_missing_vendor_files_lists_only_the_missing(tmp_path: Path) -> None:
    root = _ui_copy(tmp_path / "ui", vendor=True)
    assert missing_vendor_files(root) == []
    (root / "vendor" / VENDOR_FILES[1]).unlink()
    assert missing_vendor_files(root) == [VENDOR_FILES[1]]


def test_the_page_itself_tells_of_missing_assets() -> None:
    # Where the server cannot tell (a vendor file that fails to load), the page's script says the same.
    assert ASSETS_MISSING_TEXT in (PACKAGED_UI / "i18n.js").read_text()
    assert "showAssetsMissing" in (PACKAGED_UI / "app.js").read_text()


def test_the_api_still_answers_beside_the_page(served: TestClient) -> None:
    assert served.get("/v1/health").json()["status"] == "ok"
    assert served.get("/v1/operations").status_code == 401
