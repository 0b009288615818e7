"""``GET /docs`` (Swagger UI) and ``GET /favicon.ico``, from the service's own files only.

The service must work air-gapped: Swagger UI's script and style are copied into
``ui/vendor/swagger-ui/`` by ``make`` from the npm package the project pins
(``swagger-ui-dist``), never loaded from a CDN, and its validator badge (a call
to validator.swagger.io) is off. The page's Content-Security-Policy lets a
browser load nothing from elsewhere.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from deconflict.api.routers.ui import UiRoot

__all__ = ["DOCS_CONTENT_SECURITY_POLICY", "DOCS_FILES", "FAVICON", "router"]

DOCS_FILES = ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css")
"""Files of ``ui/vendor/`` the ``/docs`` page loads (the Makefile's ``vendor`` rule copies them)."""

FAVICON = "favicon.svg"
"""The icon of the pages, in ``ui/``; served at ``/favicon.ico`` where browsers look for it."""

DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Swagger UI starts from an inline script; everything it loads comes from this server."""

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request, root: UiRoot) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, or a plain notice when its assets are missing."""
    missing = [name for name in DOCS_FILES if not (root / "vendor" / name).is_file()]
    if missing:
        return HTMLResponse(
            "<!doctype html><title>API docs</title><p>API docs assets missing: run make "
            f"(not found in ui/vendor/: {', '.join(missing)}). The API description is at "
            '<a href="/openapi.json">/openapi.json</a>.</p>',
            headers={"Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY},
        )
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title=f"{request.app.title} — API",
        swagger_js_url=f"/ui/vendor/{DOCS_FILES[0]}",
        swagger_css_url=f"/ui/vendor/{DOCS_FILES[1]}",
        swagger_favicon_url="/favicon.ico",
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


@router.get("/favicon.ico")
def favicon(root: UiRoot) -> FileResponse:
    """The pages' icon (SVG), so a browser's request for it finds one."""
    icon = root / FAVICON
    if not icon.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {FAVICON} in the web map")
    return FileResponse(icon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})
