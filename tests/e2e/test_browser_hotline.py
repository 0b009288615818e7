"""The hotline from the web map in a real browser: messages composed, signed in the page and sent.

A real ``deconflict serve`` with blue and red (registered with the CLI, which
writes each party's PKCS #8 PEM key). blue loads its key file in the page,
composes a catalogue message with parameters (wrong ones are refused in the
page, naming the field, before any request), signs it with WebCrypto and sends
it; red sees it on its page and replies from there. The stored messages verify
with ``deconflict audit verify`` (a party's export, offline, and the database),
and no request of either page carries any form of a private key. The page's
canonical JSON is checked against what the server signs, value by value.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.client import ChannelClient
from tests.cli.conftest import run_main
from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    Party,
    _artifacts,
    log_in_with_token,
    open_page,
    served_parties,
)


@dataclass
class Hotline:
    url: str
    db: Path
    root: Path
    parties: dict[str, Party]
    key_files: dict[str, Path]


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    root = tmp_path_factory.mktemp("hotline")
    with served_parties(root) as (url, db, parties):
        yield Hotline(url, db, root, parties, {name: root / f"{name}.pem" for name in parties})


class Requests:
    """Every request a page made (URL, headers and body) and every WebSocket frame it sent, as text."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []  # (method url, headers, body)

    def attach(self, page: Any) -> None:
        page.on("request", self.record)
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: self.sent_frame(ws.url, frame)))

    def sent_frame(self, url: str, frame: Any) -> None:
        self.seen.append((f"WS {url}", "", frame if isinstance(frame, str) else frame.decode("latin-1")))

    def record(self, request: Any) -> None:
        body = request.post_data_buffer or b""
        headers = json.dumps(request.all_headers())
        self.seen.append((f"{request.method} {request.url}", headers, body.decode("utf-8", "replace")))

    def posts(self, path: str) -> list[str]:
        return [body for where, _, body in self.seen if where.startswith("POST ") and _path(where) == path]


def _path(where: str) -> str:
    return urlsplit(where.split(" ", 1)[1]).path


def _key_forms(pem: bytes) -> list[str]:
    """Every text form the private key could travel in: PEM lines, DER and raw bytes in base64 and hex."""
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    lines = [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
    forms = [*lines, "".join(lines)]
    for blob in (raw, der):
        forms += [
            base64.b64encode(blob).decode().rstrip("="),
            base64.urlsafe_b64encode(blob).decode().rstrip("="),
            blob.hex(),
            blob.hex().upper(),
        ]
    return forms


def _badge_seq(page: Any) -> int:
    match = re.search(r"(\d+)$", page.locator("#audit-status").inner_text())
    assert match, page.locator("#audit-status").inner_text()
    return int(match.group(1))


def _wait_for_badge_past(page: Any, seq: int) -> None:
    """Until the header's audit badge names an entry after ``seq`` (well before the 30 s poll)."""
    deadline_s = time.monotonic() + TIMEOUT_MS / 1000
    while _badge_seq(page) <= seq:
        assert time.monotonic() < deadline_s, "the audit badge did not move"
        page.wait_for_timeout(100)


def _blue_sends(page: Any, hotline: Hotline, requests: Requests) -> int:
    page.get_by_role("tab", name="Outbox").click()
    compose = page.locator("#compose")
    compose.get_by_label("To").select_option("red")
    compose.get_by_label("Message", exact=True).select_option("TRAFFIC_ADVISORY")
    # Without the key nothing can be signed: said in the page, nothing sent.
    compose.get_by_role("button", name="Sign and send").click()
    page.locator("#compose-errors li[data-field=key]").wait_for()
    page.locator("#signing-key").set_input_files(str(hotline.key_files["blue"]))
    page.locator("#key-state", has_text="key blue.pem loaded").wait_for()
    assert page.locator("#signing-key").input_value() == ""  # the page keeps no handle on the file

    # Wrong parameters: refused in the page, each field named, before any request.
    compose.get_by_label("altitude_ft").fill("FL200")
    compose.get_by_label("track_deg").fill("400")
    compose.get_by_label("position").fill("35.40N 40.30E")
    compose.get_by_role("button", name="Sign and send").click()
    errors = page.locator("#compose-errors")
    errors.locator("li[data-field='params.callsign']", has_text="required").wait_for()
    assert "params.altitude_ft: must be a whole number" in errors.inner_text()
    assert "params.track_deg: must be at most 359" in errors.inner_text()
    assert "key" not in [e.get_attribute("data-field") for e in errors.locator("li").all()]
    assert requests.posts("/v1/messages") == []

    compose.get_by_label("callsign").fill("VIPER1")
    compose.get_by_label("altitude_ft").fill("20000")
    compose.get_by_label("track_deg").fill("90")
    compose.get_by_label("Free text").fill('Курс 090 — «confirm» \\ "quoted"\ttab')
    compose.get_by_label("Reply within").select_option("30")
    assert "Traffic advisory: VIPER1 at 35.40N 40.30E" in page.locator("#compose-preview").inner_text()
    page.screenshot(path=str(_artifacts() / "browser-hotline-compose.png"))
    compose.get_by_role("button", name="Sign and send").click()
    sent = page.locator("#compose-sent", has_text="sent to RED")
    sent.wait_for()
    match = re.search(r"#(\d+)", sent.inner_text())
    assert match
    assert len(requests.posts("/v1/messages")) == 1
    page.locator(f"#panel-outbox li.msg[data-msg='{match.group(1)}']").wait_for()
    return int(match.group(1))


def _red_replies(page: Any, hotline: Hotline, message_id: int) -> None:
    item = page.locator(f"#panel-inbox li.msg[data-msg='{message_id}']")
    item.wait_for()
    advisory = "Traffic advisory: VIPER1 at 35.40N 40.30E, altitude 20000 ft, track 90 degrees."
    assert advisory in item.inner_text()
    assert "Курс 090" in item.inner_text()
    # The accept shortcut asks first; Escape leaves the message as it was.
    page.locator("#map").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("a")
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for()
    assert f"Accept message #{message_id} from BLUE?" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    red = ChannelClient(hotline.url, hotline.parties["red"].token)
    assert red.message(message_id)["state"] != "accepted"
    page.keyboard.press("a")
    dialog.get_by_role("button", name="Confirm").click()
    page.locator(f"li.msg[data-msg='{message_id}'].state-accepted").wait_for()

    page.get_by_role("button", name=f"Reply #{message_id}").click()
    compose = page.locator("#compose")
    assert compose.get_by_label("To").input_value() == "blue"
    assert compose.get_by_label("Free text").input_value() == f"Re #{message_id}: "
    compose.get_by_label("Message", exact=True).select_option("ACKNOWLEDGEMENT")
    compose.get_by_label("message", exact=True).fill(str(message_id))
    compose.get_by_label("Free text").press("End")
    compose.get_by_label("Free text").type("noted, VIPER1 in sight")
    # Signed with another party's key: the server refuses it, and the page says why.
    page.locator("#signing-key").set_input_files(str(hotline.key_files["blue"]))
    page.locator("#key-state", has_text="key blue.pem loaded").wait_for()
    compose.get_by_role("button", name="Sign and send").click()
    page.locator("#compose-errors li[data-field=signature]", has_text="does not verify").wait_for()
    page.locator("#signing-key").set_input_files(str(hotline.key_files["red"]))
    page.locator("#key-state", has_text="key red.pem loaded").wait_for()
    compose.get_by_role("button", name="Sign and send").click()
    page.locator("#compose-sent", has_text="sent to BLUE").wait_for()


def test_a_message_signed_in_the_page_is_sent_answered_and_verifies(hotline: Hotline) -> None:
    from playwright.sync_api import sync_playwright

    requests = Requests()
    statuses: list[tuple[int, str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pages = {}
            for name in ("blue", "red"):
                page = open_page(browser)
                requests.attach(page)
                page.on("response", lambda response: statuses.append((response.status, response.url)))
                log_in_with_token(page, hotline.url, hotline.parties[name])
                pages[name] = page
            blue_page = pages["blue"]
            # Headless Chromium fetches no icon by itself: the one the page links to must be there.
            icon = blue_page.request.get(blue_page.evaluate("document.querySelector('link[rel=icon]').href"))
            assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
            before = _badge_seq(blue_page)
            message_id = _blue_sends(blue_page, hotline, requests)
            # The header's badge follows the chain without the Audit tab being opened.
            _wait_for_badge_past(blue_page, before)
            before = _badge_seq(blue_page)
            try:
                _red_replies(pages["red"], hotline, message_id)
            except Exception:
                pages["red"].screenshot(path=str(_artifacts() / "browser-hotline-red-failed.png"))
                raise
            blue_page.locator("#panel-inbox li.msg", has_text="Your message no.").wait_for(state="attached")
            # red's answers reach blue as events: its badge moves without a send of its own.
            _wait_for_badge_past(blue_page, before)
        finally:
            browser.close()

    blue = ChannelClient(hotline.url, hotline.parties["blue"].token)
    stored = blue.message(message_id)
    assert (stored["from"], stored["to"], stored["code"]) == ("blue", "red", "TRAFFIC_ADVISORY")
    assert stored["params"] == {
        "callsign": "VIPER1",
        "position": "35.40N 40.30E",
        "altitude_ft": 20000,
        "track_deg": 90,
    }
    assert stored["text"] == 'Курс 090 — «confirm» \\ "quoted"\ttab'
    assert stored["reply_by"] is not None
    replies = [m for m in blue.messages("inbox") if m["code"] == "ACKNOWLEDGEMENT"]
    assert [(m["from"], m["params"], m["text"]) for m in replies] == [
        ("red", {"message": message_id}, f"Re #{message_id}: noted, VIPER1 in sight")
    ]

    # No form of either private key in any request (URL, headers, body); the search saw the sends.
    assert len(requests.posts("/v1/messages")) == 3
    assert any(where.startswith("WS ") for where, _, _ in requests.seen)
    for name in ("blue", "red"):
        for form in _key_forms(hotline.parties[name].key):
            for where, headers, body in requests.seen:
                assert form not in where + headers + body, f"{name}'s key went out in {where}"
    assert [s for s in statuses if s[0] == 404] == []  # nothing the page links to is missing

    # Both signatures verify: offline in blue's export, and in the whole database.
    key = hotline.root / "audit-key.pem"
    token = hotline.parties["blue"].token
    code, _, err = run_main(
        "audit", "key", "--url", hotline.url, "--token", token, "--out", str(key), "--force"
    )
    assert code == 0, err
    code, exported, err = run_main("audit", "export", "--url", hotline.url, "--token", token)
    assert code == 0, err
    export = hotline.root / "blue-export.json"
    export.write_text(exported, encoding="utf-8")
    assert sum(m["id"] in (message_id, replies[0]["id"]) for m in json.loads(exported)["messages"]) == 2
    code, out, err = run_main("audit", "verify", "--file", str(export), "--key", str(key))
    assert code == 0, out + err
    code, out, err = run_main("audit", "verify", "--db", str(hotline.db), "--key", str(key))
    assert code == 0, out + err


# Values whose canonical JSON is easy to get wrong: number layouts, escapes, key order.
TRICKY: list[Any] = [
    {"b": 1, "a": 2, "B": 3, "é": 4, "\U0001f600": 5, "\uffff": 6, "": 7},
    [0, -0.0, 1.0, 1.5, 0.1, 1e-4, 1e-5, 1.5e-7, 5e-324, 1e16, 1e21, 1.7976931348623157e308],
    [2**53, 2**53 + 2, 123456789012345678901, -1e-10, 9007199254740993.0, 1e15 + 0.5],
    ["\u0000\u001f\u007f", '"\\/', "\b\f\n\r\t", "\u2028\u2029", "Привет", "\U0001f600", "<&>"],
    {"nested": {"z": [True, False, None], "a": {"y": "x"}}},
]


def test_the_pages_canonical_json_is_what_the_server_signs(hotline: Hotline) -> None:
    from playwright.sync_api import sync_playwright

    generator = random.Random(7)
    values = [
        *TRICKY,
        [generator.uniform(-1e6, 1e6) for _ in range(200)],
        [10 ** generator.uniform(-12, 25) for _ in range(200)],
        [generator.randint(-(2**70), 2**70) for _ in range(50)],
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(hotline.url + "/")
            answers = page.evaluate(
                """async (texts) => {
                  const { canonicalJson } = await import('/ui/hotline.js');
                  return texts.map((text) => {
                    const value = JSON.parse(text);
                    return [JSON.stringify(value), canonicalJson(value)];
                  });
                }""",
                [json.dumps(v) for v in values],
            )
        finally:
            browser.close()
    for value, (sent, signed) in zip(values, answers, strict=True):
        # What the server makes of the body the page sends, then signs (channel.messages.canonical_bytes).
        server = json.dumps(json.loads(sent), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert signed == server, value


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_at_1280_by_720_the_legend_and_the_statistics_show_whole(hotline: Hotline) -> None:
    from playwright.sync_api import sync_playwright

    red = hotline.parties["red"]
    ChannelClient(hotline.url, red.token, private_key_pem=red.key).send("blue", "FREE", text="Radio check")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
            page.set_default_timeout(TIMEOUT_MS)
            log_in_with_token(page, hotline.url, hotline.parties["blue"])
            legend = page.locator(".legend").bounding_box()
            attribution = page.locator(".leaflet-control-attribution").bounding_box()
            assert legend and attribution
            assert not _overlap(legend, attribution), (legend, attribution)
            page.get_by_role("tab", name="Statistics").click()
            table = page.locator("table.stats")
            table.wait_for()
            for language, tab in (("EN", "Statistics"), ("RU", "Статистика")):
                page.get_by_role("button", name=language).first.click()
                page.get_by_role("tab", name=tab).click()
                page.locator("table.stats").wait_for()
                side = page.locator("#side").bounding_box()
                last = page.locator("table.stats th").last.bounding_box()
                assert side and last
                assert last["x"] + last["width"] <= side["x"] + side["width"], (language, last, side)
                assert page.locator(".table-wrap").evaluate("e => e.scrollWidth <= e.clientWidth"), language
                page.screenshot(path=str(_artifacts() / f"browser-hotline-stats-1280-{language}.png"))
            # The composer speaks Russian too: its labels and the catalogue's titles.
            page.get_by_role("tab", name="Исходящие").click()
            compose = page.locator("#compose")
            compose.get_by_label("Кому").select_option("red")
            codes = compose.get_by_label("Сообщение", exact=True)
            codes.select_option("TRAFFIC_ADVISORY")
            assert "Информация о воздушном движении" in codes.inner_text()
            compose.get_by_role("button", name="Подписать и отправить").click()
            assert "сначала загрузите ключ подписи" in page.locator("#compose-errors").inner_text()
            assert "params.callsign: обязательное поле" in page.locator("#compose-errors").inner_text()
        finally:
            browser.close()
