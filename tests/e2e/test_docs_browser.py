"""``/docs`` in a real browser with every other host cut off: Swagger UI renders, nothing fails or 404s."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _require_browser
from tests.servers import serve_process


def test_docs_render_air_gapped_with_no_failed_request(tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def on_request(request: Any) -> None:
        if urlsplit(request.url).hostname != "127.0.0.1":
            outside.append(request.url)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    with serve_process(tmp_path / "channel.db", tmp_path / "serve.log") as (_, url), sync_playwright() as pw:
        # No name resolves but this server's address: a network with no way out.
        air_gap = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, air_gap])
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", on_request)
            page.on("response", on_response)
            page.on("requestfailed", lambda request: failed.append(f"failed {request.url}"))
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.goto(url + "/docs")
            page.locator(".swagger-ui .info .title").get_by_text("deconflict channel").wait_for()
            page.locator(".opblock").first.wait_for()
            operations = page.locator(".opblock").count()
            # The icon the page links to (a browser asks for it on its own too).
            linked = page.locator("link[rel='shortcut icon']").get_attribute("href")
            answer = page.goto(url + str(linked))
            icon = None if answer is None else answer.status
        finally:
            browser.close()
    assert operations >= 10  # the API's operations, rendered from /openapi.json
    assert icon == 200
    assert outside == [] and failed == [] and errors == []
