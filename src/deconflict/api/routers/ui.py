"""``GET /`` and ``GET /ui/...``: the operator's web map, static files of the :mod:`deconflict.ui` folder.

The page needs no token to load: it asks for one and sends it with every API
call. Third-party assets (map, basemap, charts) are copied into ``ui/vendor/``
by ``make`` from the npm packages the project pins; when they are missing the
page says so in plain words ("map assets missing: run make") instead of
showing a blank map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse

from deconflict.config import Settings

__all__ = [
    "ASSETS_MISSING_TEXT",
    "CONTENT_SECURITY_POLICY",
    "VENDOR_FILES",
    "UiRoot",
    "missing_vendor_files",
    "router",
    "ui_root",
]

VENDOR_FILES = (
    "leaflet.js",
    "leaflet.css",
    "topojson-client.min.js",
    "countries-50m.json",
    "chart.umd.min.js",
    "mgrs.esm.js",
    "places.json",
)
"""Files of ``ui/vendor/`` the page loads (the Makefile's ``vendor`` rule copies them)."""

ASSETS_MISSING_TEXT = "map assets missing: run make"
"""What the page says when a vendor file is missing."""

_SUFFIXES = frozenset({".html", ".js", ".css", ".json", ".png", ".svg"})
_STATUS_MARK = "<!--assets-status-->"

router = APIRouter(include_in_schema=False)


def ui_root(settings: Settings) -> Path:
    """The folder the page is served from: ``settings.ui_dir``, else the package's ``ui/``."""
    if settings.ui_dir is not None:
        return settings.ui_dir
    return Path(__file__).resolve().parent.parent.parent / "ui"


def missing_vendor_files(root: Path) -> list[str]:
    """The :data:`VENDOR_FILES` not present under ``root / "vendor"``, in order."""
    return [name for name in VENDOR_FILES if not (root / "vendor" / name).is_file()]


def _root(request: Request) -> Path:
    services = getattr(request.app.state, "services", None)
    settings = getattr(services, "settings", None)
    if not isinstance(settings, Settings):
        raise RuntimeError("the app is not started: run it under its lifespan (e.g. `with TestClient(app)`)")
    return ui_root(settings)


UiRoot = Annotated[Path, Depends(_root)]

_NO_CACHE = {"Cache-Control": "no-cache"}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""The page runs only its own files and talks only to its own server (the map draws inline styles)."""


@router.get("/", response_class=HTMLResponse)
def index(root: UiRoot) -> HTMLResponse:
    """The page; with a visible notice in place of the map when vendor files are missing."""
    page = root / "index.html"
    if not page.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"web map not installed: no {page}")
    html = page.read_text(encoding="utf-8")
    missing = missing_vendor_files(root)
    if missing:
        notice = (
            f'<div id="assets-missing" class="assets-missing" role="alert">{ASSETS_MISSING_TEXT}'
            f" (not found in ui/vendor/: {', '.join(missing)})</div>"
        )
        html = html.replace(_STATUS_MARK, notice)
    return HTMLResponse(
        html,
        headers={
            **_NO_CACHE,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/ui/{path:path}")
def asset(path: str, root: UiRoot) -> FileResponse:
    """A file of the page (scripts, styles, vendor assets); anything outside the folder is not found."""
    base = root.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base) or target.suffix not in _SUFFIXES or not target.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no file {path!r} in the web map")
    return FileResponse(target, headers={**_NO_CACHE, "X-Content-Type-Options": "nosniff"})
