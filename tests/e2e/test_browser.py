"""The web map in a real browser: each party logs in and sees its picture, and nothing of the others'.

A real ``deconflict serve`` process on a fresh database with three parties
(registered with the CLI), the example plans (conflicting), messages between
them and, when the server has ``/v1/tracks``, aircraft of two parties in alert
plus aircraft in no alert. Headless Chromium (the system's, driven by
Playwright) logs in as each party: what the party must see is on the page;
what it must not see (other parties' operations, volumes, aircraft ids and
callsigns) is in neither the page's text nor any response body or WebSocket
frame the page received. A message is acknowledged with the keyboard and with
a button, and the state change is checked on the server. Screenshots go to
``DECONFLICT_ARTIFACTS`` (default ``test-artifacts/`` at the repository root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deconflict.channel.keys import generate_key_pair
from deconflict.client import ChannelClient, ChannelError
from deconflict.strategic.conflicts import format_time
from tests.servers import call_api, serve_process, ungated_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "deconflict" / "data" / "examples"
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 15_000
PARTIES = ("blue", "red", "civil")
PLAN_COLOUR = "#3d8bfd"  # the stroke of own volumes on the map (ui/map.js COLOURS.plan)
OWN_COLOUR = "#4db8ff"  # own aircraft and their trails (ui/map.js COLOURS.own)


@dataclass
class Party:
    name: str
    token: str
    key: bytes
    operations: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    aircraft: list[str] = field(default_factory=list)  # ids and callsigns


@dataclass
class World:
    url: str
    parties: dict[str, Party]
    inbox: dict[str, int]  # party -> id of a message it received and has not answered
    inbox_text: dict[str, str]
    tracks: bool  # the server has /v1/tracks: aircraft in alert were sent
    overdue: dict[str, int]  # party -> id of a message to it whose reply-by passes during the test


def _require_browser() -> None:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("DECONFLICT_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}, and DECONFLICT_REQUIRE_BROWSER is set")
        pytest.skip(f"{reason}; set DECONFLICT_REQUIRE_BROWSER to make this a failure")


def _artifacts() -> Path:
    folder = Path(os.environ.get("DECONFLICT_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


PIN_KEY = "deconflict.audit-key"
"""Where the page pins the server's audit key (localStorage)."""


def _register(db: Path, root: Path, name: str) -> Party:
    key_path = root / f"{name}.pem"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deconflict",
            "party",
            "add",
            name,
            "--db",
            str(db),
            "--key-out",
            str(key_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    match = re.search(r"^token: (\S+)$", done.stdout, re.MULTILINE)
    assert match, done.stdout
    return Party(name, match.group(1), key_path.read_bytes())


@contextmanager
def served_parties(
    root: Path, names: Sequence[str] = ("blue", "red")
) -> Iterator[tuple[str, Path, dict[str, Party]]]:
    """A real ``deconflict serve`` in ``root`` with ``names`` registered: its URL, database and parties.

    Skips without a browser (see :func:`_require_browser`): the pages are what is tested.
    """
    _require_browser()
    db = root / "channel.db"
    parties = {name: _register(db, root, name) for name in names}
    with serve_process(db, root / "serve.log", ungated_env(*parties)) as (_, url):
        yield url, db, parties


def open_page(browser: Any) -> Any:
    """A page in a context of its own (storage, cookies): 1280 x 720, en-US, waits of at most TIMEOUT_MS."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def log_in_with_token(page: Any, url: str, party: Party, *, connected: bool = True) -> None:
    """Log ``party`` in at ``url`` with its token: the page ready (and with ``connected``, its WebSocket)."""
    page.goto(url + "/")
    page.get_by_label("Token").fill(party.token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT_MS)
    if connected:
        page.wait_for_selector("#ws-state[data-state=connected]", timeout=TIMEOUT_MS)


def _file_examples(client: ChannelClient, party: Party) -> None:
    """File the party's example plan, one operation per ``operation`` property."""
    document = json.loads((EXAMPLES / f"{party.name}.geojson").read_text())
    by_operation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for feature in document["features"]:
        by_operation[feature["properties"]["operation"]].append(feature)
    for operation, features in by_operation.items():
        client.file_operation(operation, {"type": "FeatureCollection", "features": features}, priority=1)
        party.operations.append(operation)
        party.volumes += [f["properties"]["id"] for f in features]


def _active_volumes(party: str, at_s: float) -> int:
    """How many of the party's example volumes are active at ``at_s``."""
    document = json.loads((EXAMPLES / f"{party}.geojson").read_text())
    times = [
        (
            datetime.fromisoformat(f["properties"]["time_start"]),
            datetime.fromisoformat(f["properties"]["time_end"]),
        )
        for f in document["features"]
    ]
    return sum(start.timestamp() <= at_s < end.timestamp() for start, end in times)


def _state(
    aircraft: str, callsign: str, lon: float, lat: float, trk_deg: float, now: datetime
) -> dict[str, Any]:
    return {
        "id": aircraft,
        "callsign": callsign,
        "time": format_time(now.timestamp()),
        "lat_deg": lat,
        "lon_deg": lon,
        "alt_m": 6000.0,
        "gs_mps": 200.0,
        "trk_deg": trk_deg,
        "vs_mps": 0.0,
    }


def _post_tracks(url: str, party: Party, states: list[dict[str, Any]]) -> bool:
    """Send the party's aircraft; False when the server has no /v1/tracks yet."""
    status, answer = call_api(url, party.token, "POST", "/v1/tracks", {"states": states})
    if status in (404, 405):
        return False
    assert status == 202, (status, answer)
    for state in states:
        party.aircraft += [n for n in (state["id"], state["callsign"]) if n not in party.aircraft]
    return True


def _send_aircraft(url: str, parties: dict[str, Party]) -> bool:
    """Every party's aircraft, timed now (sent again before each page: states older than 30 s are dropped).

    blue's BLU101 and red's RDX7 head for each other (20 km apart, 400 m/s closing): an alert;
    blue's BLU303 and red's RDX5 have lost separation: an incident. red's RDX9 and civil's
    CIV33 are far from everyone: in no alert. False when the server has no /v1/tracks.
    """
    now = datetime.now(UTC)
    tracks = _post_tracks(
        url,
        parties["blue"],
        [
            _state("BLU101", "VIPER1", 40.30, 35.40, 90.0, now),
            _state("BLU202", "VIPER2", 38.00, 33.964, 0.0, now - timedelta(seconds=20)),
            _state("BLU202", "VIPER2", 38.00, 34.00, 0.0, now),  # two states: a trail
            _state("BLU303", "VIPER3", 38.90, 36.00, 90.0, now),
        ],
    )
    if tracks:
        assert _post_tracks(
            url,
            parties["red"],
            [
                _state("RDX7", "FALCON7", 40.52, 35.40, 270.0, now),
                _state("RDX9", "FALCON9", 36.50, 36.80, 180.0, now),
                _state("RDX5", "FALCON5", 38.92, 36.00, 270.0, now),  # 1.8 km from BLU303
            ],
        )
        assert _post_tracks(url, parties["civil"], [_state("CIV33", "CIVAIR33", 42.50, 33.00, 45.0, now)])
    return tracks


def _seed(url: str, parties: dict[str, Party]) -> World:
    clients = {n: ChannelClient(url, p.token, private_key_pem=p.key) for n, p in parties.items()}
    for name, party in parties.items():
        _file_examples(clients[name], party)
    assert clients["blue"].conflicts(), "the example plans of blue and red must conflict"
    reply_by = format_time((datetime.now(UTC) + timedelta(minutes=20)).timestamp())
    inbox_text = {
        "blue": "Climb restriction FL200 over the river, confirm",
        "red": "Corridor west closed until 1400Z",
        "civil": "Airway UL620 active, confirm traffic",
    }
    inbox = {
        "blue": int(clients["red"].send("blue", "FREE", text=inbox_text["blue"], reply_by=reply_by)["id"]),
        "red": int(clients["blue"].send("red", "FREE", text=inbox_text["red"], reply_by=reply_by)["id"]),
        "civil": int(clients["red"].send("civil", "FREE", text=inbox_text["civil"], reply_by=reply_by)["id"]),
    }
    # One that will be overdue while the page is open: its countdown must turn red.
    soon = format_time((datetime.now(UTC) + timedelta(seconds=2)).timestamp())
    overdue = {
        "civil": int(clients["blue"].send("civil", "FREE", text="Confirm squawk", reply_by=soon)["id"])
    }
    # An answered message too, so the inbox shows both kinds.
    older = clients["civil"].send("blue", "FREE", text="Radio check", reply_by=reply_by)
    clients["blue"].ack(int(older["id"]), "read")
    tracks = _send_aircraft(url, parties)
    return World(url, parties, inbox, inbox_text, tracks, overdue)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served_parties(tmp_path_factory.mktemp("browser"), PARTIES) as (url, _, parties):
        yield _seed(url, parties)


class Seen:
    """Every response body and WebSocket frame a page received."""

    def __init__(self) -> None:
        self.responses: list[Any] = []
        self.frames: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("response", lambda response: self.responses.append(response))
        page.on(
            "websocket", lambda ws: ws.on("framereceived", lambda payload: self.frames.append(str(payload)))
        )

    def texts(self) -> list[tuple[str, str]]:
        out = [(f"ws frame {i}", frame) for i, frame in enumerate(self.frames)]
        for response in self.responses:
            try:
                out.append((response.url, response.body().decode("utf-8", errors="replace")))
            except Exception:  # a redirect or aborted request has no body
                continue
        return out


def _log_in(page: Any, world: World, party: Party, shots: Path) -> None:
    page.goto(world.url + "/")
    page.get_by_label("Token").wait_for()
    page.screenshot(path=str(shots / "browser-login.png"))
    page.get_by_label("Token").fill(party.token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT_MS)
    page.wait_for_selector("#ws-state[data-state=connected]", timeout=TIMEOUT_MS)


def _must_not_leak(page: Any, seen: Seen, party: Party, world: World) -> None:
    forbidden: list[str] = []
    for other in world.parties.values():
        if other.name != party.name:
            forbidden += other.operations + other.volumes + other.aircraft
    page_text = page.evaluate("document.body.innerText + ' ' + document.body.innerHTML")
    sources = [("page", page_text), *seen.texts()]
    received = " ".join(where for where, _ in sources)
    for route in [
        "/v1/operations",
        "/v1/conflicts",
        "/v1/messages",
        "ws frame",
        *(["/v1/tracks"] * world.tracks),
    ]:
        assert route in received, f"the page never received {route}: the search would prove nothing"
    for word in forbidden:
        for where, text in sources:
            assert word not in text, f"{party.name} was shown {word!r} in {where}"


def _check_party(browser: Any, world: World, name: str, shots: Path) -> float:
    party = world.parties[name]
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A failed call is logged by the page (console.warn); a missing route's 404 is expected.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type in ("warning", "error") and "Failed to load resource" not in message.text
            else None
        ),
    )
    seen = Seen()
    seen.attach(page)
    try:
        ready_s = _check_page(page, seen, world, party, shots)
    except Exception:
        page.screenshot(path=str(shots / f"browser-{name}-failed.png"))
        raise
    assert not errors, errors
    context.close()
    return ready_s


def _check_page(page: Any, seen: Seen, world: World, party: Party, shots: Path) -> float:
    name = party.name
    if world.tracks:
        _send_aircraft(world.url, world.parties)
    started = time.monotonic()
    _log_in(page, world, party, shots)
    ready_s = time.monotonic() - started

    assert page.locator("#party-name").inner_text() == name.upper()
    assert page.title().endswith(f"operations {name.upper()}"), page.title()
    assert "assets missing" not in page.locator("body").inner_text()
    assert page.locator("#map .leaflet-overlay-pane path").count() > 0  # basemap and plans drawn

    # The time slider shows only the volumes active at its time.
    plan_paths = page.locator(f"#map path[stroke='{PLAN_COLOUR}']")
    assert plan_paths.count() == len(party.volumes)
    at_s = datetime(2026, 1, 1, 19, 0, tzinfo=UTC).timestamp()
    page.evaluate(
        "(minute) => { const s = document.querySelector('#time-slider'); s.value = String(minute);"
        " s.dispatchEvent(new Event('input')); }",
        int(at_s // 60),
    )
    assert page.locator("#time-label").inner_text() == "2026-01-01 19:00Z"
    active = _active_volumes(party.name, at_s)
    assert plan_paths.count() == active
    assert name == "civil" or active < len(party.volumes)  # civil's one volume is active all day
    page.get_by_label("All times").check()
    assert plan_paths.count() == len(party.volumes)

    # Plans: every operation of its own, listed and drawn.
    page.get_by_role("tab", name="Plans").click()
    plans_text = page.locator("#panel-plans").inner_text()
    for operation in party.operations:
        assert operation in plans_text
    for volume in party.volumes:
        assert volume in plans_text
    # Each plan downloads in the plan formats, with the token (the server writes the file).
    operation = party.operations[0]
    with page.expect_download() as download:
        page.get_by_role("button", name=f"download {operation} KML", exact=True).click()
    assert download.value.suggested_filename == f"{operation}.kml"
    kml = Path(download.value.path()).read_text(encoding="utf-8")
    assert kml.startswith("<?xml") and "<kml" in kml and operation in kml
    with page.expect_download() as download:
        page.get_by_role("button", name=f"download {operation} NOTAM", exact=True).click()
    assert download.value.suggested_filename == f"{operation}-notam.txt"
    assert "NOTAMN" in Path(download.value.path()).read_text(encoding="utf-8")

    # Conflicts: blue and red conflict with each other.
    if name in ("blue", "red"):
        page.get_by_role("tab", name="Conflicts").click()
        other = "RED" if name == "blue" else "BLUE"
        page.locator("#panel-conflicts li.conflict", has_text=other).first.wait_for()
        assert page.locator("#map path.leaflet-interactive[stroke='#d45cff']").count() > 0
        if name == "red":
            button = page.get_by_role("button", name=re.compile(r"^Acknowledge Conflicts #\d+$")).first
            conflict_id = int(button.get_attribute("data-id") or "0")
            button.click()
            page.locator(f"li.conflict[data-id='{conflict_id}']", has_text="Acknowledged by: red").wait_for()
            status, conflict = call_api(world.url, party.token, "GET", f"/v1/conflicts/{conflict_id}")
            assert status == 200
            assert [a["party"] for a in conflict["acknowledged_by"]] == ["red"]
            # Then accepted as it is, with a reason both sides see.
            page.get_by_role("button", name=f"Accept as is #{conflict_id}").click()
            page.get_by_role("textbox", name=f"Reason Conflicts #{conflict_id}", exact=True).fill(
                "We stay below FL200"
            )
            page.get_by_role("textbox", name=f"Reason Conflicts #{conflict_id}", exact=True).press("Enter")
            page.locator(f"li.conflict[data-id='{conflict_id}']", has_text="We stay below FL200").wait_for()
            status, conflict = call_api(world.url, party.token, "GET", f"/v1/conflicts/{conflict_id}")
            assert [(a["party"], a["reason"]) for a in conflict["accepted_by"]] == [
                ("red", "We stay below FL200")
            ]

    # The inbox message, with its live countdown.
    page.get_by_role("tab", name="Inbox").click()
    message_id = world.inbox[name]
    item = page.locator(f"li.msg[data-msg='{message_id}']")
    item.wait_for()
    assert world.inbox_text[name] in item.inner_text()
    assert "reply in" in item.locator(".deadline").inner_text()
    if name in world.overdue:
        late = page.locator(f"li.msg[data-msg='{world.overdue[name]}'].overdue .deadline.overdue")
        late.wait_for()
        assert late.inner_text().startswith("OVERDUE +")
        page.locator("[data-count=inbox].hot").wait_for()  # once the server says overdue (pushed)

    if world.tracks and name in ("blue", "red"):
        other = "RED" if name == "blue" else "BLUE"
        # One name per aircraft: the callsign where known, the address on hover.
        own, address = ("VIPER1", "BLU101") if name == "blue" else ("FALCON7", "RDX7")
        alert = page.locator("#alerts-list li.alert", has_text=own).first
        alert.wait_for()
        assert f"{own} vs {other}" in alert.inner_text()
        assert alert.locator("b.aircraft").get_attribute("title") == address
        page.wait_for_function("document.title.startsWith('(⚠')")  # the tab tells of alerts at a glance
        page.locator(".foreign-label", has_text=other).first.wait_for()
        if name == "blue":  # BLU202 was sent twice: its trail is drawn
            assert page.locator(f"#map path[stroke='{OWN_COLOUR}']").count() >= 1
        page.locator(".leaflet-tooltip.alert-label").first.wait_for()
    elif world.tracks:
        page.wait_for_function("document.querySelector('#alerts-list').innerText.includes('No alerts')")

    if world.tracks and name in ("blue", "red"):
        # The incident: a marker at closest approach, and a comment thread both sides write to.
        page.get_by_role("tab", name="Incidents").click()
        incident = page.locator("#panel-incidents li.incident").first
        incident.wait_for()
        incident_id = int(incident.locator("form.comment-form").get_attribute("data-id") or 0)
        assert page.locator("#map .incident-icon").count() >= 1
        text = f"{name}: climbing to FL250 to clear"
        page.get_by_role("textbox", name=f"Comment #{incident_id}", exact=True).fill(text)
        page.get_by_role("button", name=f"Add comment #{incident_id}").click()
        page.locator("#panel-incidents ul.comments li", has_text=text).wait_for()
        other = world.parties["red" if name == "blue" else "blue"]
        status, seen_by_other = call_api(world.url, other.token, "GET", f"/v1/incidents/{incident_id}")
        assert status == 200, seen_by_other
        assert text in [c["text"] for c in seen_by_other["comments"]]
        page.screenshot(path=str(shots / f"browser-{name}-incidents.png"))
        page.get_by_role("tab", name="Inbox").click()

    # Acknowledge: blue with the keyboard shortcut (the oldest unanswered), the others with buttons.
    if name == "blue":
        page.locator("#map").click(position={"x": 5, "y": 5})  # focus out of any input
        page.keyboard.press("?")
        page.get_by_role("dialog").wait_for()
        page.keyboard.press("Escape")
        assert page.get_by_role("dialog").is_hidden()
        page.keyboard.press("j")  # the oldest unanswered first
        assert page.locator("li.msg.selected").get_attribute("data-msg") == str(message_id)
        page.keyboard.press("j")
        assert page.locator("li.msg.selected").get_attribute("data-msg") != str(message_id)
        page.keyboard.press("k")
        assert page.locator("li.msg.selected").get_attribute("data-msg") == str(message_id)
        page.keyboard.press("a")  # irreversible from one key: the page asks first
        page.get_by_role("alertdialog").get_by_role("button", name="Confirm").click()
        expected = "accepted"
    elif name == "red":
        page.get_by_role("button", name=f"Dispute #{message_id}").click()
        page.get_by_role("textbox", name=f"Reason #{message_id}", exact=True).fill(
            "Corridor still needed until 1500Z"
        )
        page.get_by_role("button", name=f"Send Dispute #{message_id}").click()
        expected = "disputed"
    else:
        page.get_by_role("button", name=f"Accept #{message_id}").click()
        expected = "accepted"
    page.locator(f"li.msg[data-msg='{message_id}'].state-{expected}").wait_for()
    sender = next(p for p in world.parties.values() if p.name != name and _sent(world, p, message_id))
    assert ChannelClient(world.url, sender.token).message(message_id)["state"] == expected

    # Audit: the chain is checked in the browser, links and server signatures.
    page.get_by_role("tab", name="Audit").click()
    page.locator(".audit.ok .audit-status").wait_for()
    assert re.search(r"Chain verified up to entry \d+", page.locator("#audit-status").inner_text())
    # The server key seen first is pinned (ui/audit.js); another one (a re-signed log) is flagged.
    pinned = page.evaluate(f"localStorage.getItem('{PIN_KEY}')")
    assert pinned == ChannelClient(world.url, party.token).audit_key().strip()
    page.evaluate(f"localStorage.setItem('{PIN_KEY}', {json.dumps(generate_key_pair()[1].decode())})")
    page.get_by_role("tab", name="Inbox").click()
    page.get_by_role("tab", name="Audit").click()
    page.locator(".audit.broken .audit-warning", has_text="SERVER KEY CHANGED").wait_for()
    assert page.locator("#audit-status").inner_text() == "SERVER KEY CHANGED"
    page.evaluate(f"localStorage.removeItem('{PIN_KEY}')")

    # Language switch: the server renders the catalogue in Russian, the page's labels follow.
    page.get_by_role("button", name="RU").first.click()
    page.get_by_role("tab", name="Входящие").click()
    page.locator(f"li.msg[data-msg='{message_id}'] .title", has_text="Произвольный текст").wait_for()
    page.screenshot(path=str(shots / f"browser-{name}-ru.png"))
    page.get_by_role("button", name="EN").first.click()
    page.get_by_role("tab", name="Inbox").click()

    page.screenshot(path=str(shots / f"browser-{name}.png"))
    page.get_by_role("tab", name="Statistics").click()
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / f"browser-{name}-stats.png"))
    _must_not_leak(page, seen, party, world)

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Token").wait_for()
    assert page.evaluate("sessionStorage.getItem('deconflict.token')") is None
    return ready_s


def _sent(world: World, party: Party, message_id: int) -> bool:
    try:
        ChannelClient(world.url, party.token).message(message_id)
    except ChannelError:
        return False
    return True


def test_each_party_sees_its_picture_and_nothing_of_the_others(world: World) -> None:
    from playwright.sync_api import sync_playwright

    shots = _artifacts()
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            ready = {name: _check_party(browser, world, name, shots) for name in PARTIES}
        finally:
            browser.close()
    for name, ready_s in ready.items():
        assert ready_s < 10.0, f"{name}: the page took {ready_s:.1f} s to be ready"
        assert (shots / f"browser-{name}.png").stat().st_size > 10_000
    assert time.monotonic() - started < 60.0


def test_a_bad_token_is_refused_on_the_page(world: World) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(world.url + "/")
            page.get_by_label("Token").fill("not-a-token")
            page.get_by_role("button", name="Log in").click()
            page.get_by_text("Token refused").wait_for()
            assert page.locator("#app").is_hidden()
        finally:
            browser.close()


def test_without_vendor_assets_the_page_says_run_make(tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    packaged = REPO / "src" / "deconflict" / "ui"
    ui_dir = tmp_path / "ui"
    ui_dir.mkdir()
    for path in packaged.glob("*"):
        if path.is_file():
            shutil.copy(path, ui_dir / path.name)
    env = {**os.environ, "DECONFLICT_UI_DIR": str(ui_dir)}
    with (
        serve_process(tmp_path / "channel.db", tmp_path / "serve.log", env) as (_, url),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url + "/")
            banner = page.get_by_role("alert").filter(has_text="map assets missing: run make")
            banner.wait_for()
            assert banner.is_visible()
            page.screenshot(path=str(_artifacts() / "browser-assets-missing.png"))
        finally:
            browser.close()


def test_the_live_connection_comes_back_by_itself(world: World, tmp_path: Path) -> None:
    """Dropped, the page reconnects with the opaque id of the last event it got: sent what it missed, once."""
    from playwright.sync_api import sync_playwright

    red = ChannelClient(world.url, world.parties["red"].token, private_key_pem=world.parties["red"].key)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(TIMEOUT_MS)
            sockets: list[Any] = []
            to_server_frames: list[list[dict[str, Any]]] = []  # per connection, what the page sent
            to_page_frames: list[list[dict[str, Any]]] = []  # per connection, what the server sent

            def relay(route: Any) -> None:  # the page's event connection, relayed to the real server
                server = route.connect_to_server()
                sent: list[dict[str, Any]] = []
                received: list[dict[str, Any]] = []
                to_server_frames.append(sent)
                to_page_frames.append(received)

                def up(message: str | bytes) -> None:
                    sent.append(json.loads(message))
                    server.send(message)

                def down(message: str | bytes) -> None:
                    received.append(json.loads(message))
                    route.send(message)

                route.on_message(up)
                server.on_message(down)
                sockets.append((route, server))

            def texts_on(connection: int) -> list[str]:
                frames = to_page_frames[connection]
                return [str(f["message"]["text"]) for f in frames if f["type"] == "message"]

            def until(condition: Any) -> None:
                deadline = time.monotonic() + TIMEOUT_MS / 1000
                while not condition():
                    assert time.monotonic() < deadline, "timed out"
                    page.wait_for_timeout(50)

            page.route_web_socket(re.compile(r"/v1/events"), relay)
            _log_in(page, world, world.parties["blue"], tmp_path)
            assert len(sockets) == 1
            # Several events: their ids in no order, the last is seldom the largest (the page once kept that).
            for n in range(6):
                red.send("blue", "FREE", text=f"before the drop {n}", reply_by=None)
            until(lambda: "before the drop 5" in texts_on(0))
            last_id = [f["id"] for f in to_page_frames[0] if "id" in f][-1]
            to_page, to_server = sockets[0]
            to_server.close()
            to_page.close(code=1011, reason="dropped")  # as a proxy or a restart would
            page.wait_for_selector("#ws-state:not([data-state=connected])")
            red.send("blue", "FREE", text="while away", reply_by=None)
            page.wait_for_selector("#ws-state[data-state=connected]")  # reconnected and authenticated again
            assert len(sockets) == 2
            auth = to_server_frames[1][0]
            assert (auth["type"], auth["last_event_id"]) == ("auth", last_id)
            until(lambda: "while away" in texts_on(1))
            assert texts_on(1) == ["while away"]  # what it missed, once; nothing it had
        finally:
            browser.close()
