"""The web map with a large fleet: first render and input latency in a real browser.

Starts ``deconflict serve`` on 127.0.0.1 (an ephemeral port, a temporary database),
registers one party and posts ``--aircraft`` of its own aircraft (spread over about
2,000 by 2,000 km, flying straight lines; a tenth without a callsign), then keeps posting
all of them every ``--post-every`` seconds while headless Chromium (the system's,
``/usr/bin/chromium``, driven by Playwright) logs in and uses the page. Measured:

- ``first_render_s``: from the log-in click to the page ready with every aircraft drawn;
- ``click_ms``: a click on an aircraft, from the input event to the frame painted after its
  details show (each of ``--clicks`` aircraft; p50 and max);
- ``pan_ms``: the input events of a mouse drag of the map, each to the next frame painted
  (max), and ``pan_redraw_ms``, the canvas redraw after the drag (the aircraft that came in);
- ``zoom_ms``: a wheel step, its event to the next frame painted;
- ``update_ms``: main-thread time to apply one ``tracks`` frame pushed by the server, its
  redraw included (p50, max; decoding the frame is the page's worker's, off the main thread),
  and ``update_slice_max_ms``, the longest single task of it (the update, a slice of its
  paint, or the redraw that puts it: the longest an input can wait behind a frame);
- ``longest_task_ms``: the page's longest main-thread task once it is ready (the worst wait
  an input could meet), and ``loading_longest_task_ms`` before (the basemap, the first render);
- ``updates``: ``tracks`` frames applied while measuring (the page never polls them).

Targets (issue 22): first render < 5 s and an input answered < 100 ms at 25,000 aircraft.
The server is always stopped, whatever happens. Usage::

    python benchmarks/page.py --aircraft 25000
    python benchmarks/page.py --aircraft 2000 --json
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deconflict.channel.parties import register_party
from deconflict.storage import open_storage
from deconflict.strategic.conflicts import format_time

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
STARTUP_S = 60.0
BATCH = 10_000
"""States per POST (the server's default ``tracks_max_batch``)."""
METRES_PER_DEG = 111_195.0
TARGET_FIRST_RENDER_S = 5.0
TARGET_INPUT_MS = 100.0

# Installed in the page before the log-in: every input event's time to the next frame painted,
# and the longest main-thread tasks. A capture listener on the window runs before the page's
# own handlers, so the frame it waits for is the one after them.
PROBES = """() => {
  window.__inputs = [];
  window.__tasks = [];
  for (const type of ["click", "mousedown", "mousemove", "mouseup", "wheel"]) {
    window.addEventListener(type, (event) => {
      const start = event.timeStamp;
      const done = () => window.__inputs.push({ type, ms: performance.now() - start });
      requestAnimationFrame(() => setTimeout(done));
    }, { capture: true, passive: true });
  }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__tasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
}"""

# The page's updates: main-thread time of each tracks frame applied and of its redraw (ui/fleet.js:
# onUpdated, called after the redraw an update asked for).
WATCH_UPDATES = """() => {
  window.__updates = [];
  window.deconflictMap.fleet.onUpdated = (updatedMs, redrawMs, longestMs) => {
    window.__updates.push([updatedMs, redrawMs, longestMs]);
  };
}"""


@dataclass(frozen=True)
class Fleet:
    """The aircraft posted: ids, callsigns and where each starts, flying straight at constant speed."""

    ids: list[str]
    callsigns: list[str]
    lat0_deg: np.ndarray
    lon0_deg: np.ndarray
    alt0_m: np.ndarray
    gs_mps: np.ndarray
    trk_deg: np.ndarray
    vs_mps: np.ndarray
    t0_s: float

    @classmethod
    def random(cls, n: int, seed: int = 22) -> Fleet:
        rng = np.random.default_rng(seed)
        ids = [f"{0x400000 + i:06x}" for i in range(n)]
        callsigns = ["" if i % 10 == 9 else f"DCF{i}" for i in range(n)]
        climbing = rng.random(n) < 0.2
        return cls(
            ids=ids,
            callsigns=callsigns,
            lat0_deg=rng.uniform(40.0, 58.0, n),
            lon0_deg=rng.uniform(-2.0, 25.0, n),
            alt0_m=rng.uniform(4000.0, 9000.0, n),
            gs_mps=rng.uniform(80.0, 250.0, n),
            trk_deg=rng.uniform(0.0, 360.0, n),
            vs_mps=np.where(climbing, rng.choice([-5.0, 5.0], n), 0.0),
            t0_s=time.time(),
        )

    def states(self, at_s: float) -> list[dict[str, Any]]:
        """Every aircraft's state at ``at_s`` (flat-earth straight lines: exact enough for minutes)."""
        dt_s = at_s - self.t0_s
        trk = np.radians(self.trk_deg)
        lat = self.lat0_deg + self.gs_mps * np.cos(trk) * dt_s / METRES_PER_DEG
        lon = self.lon0_deg + self.gs_mps * np.sin(trk) * dt_s / (METRES_PER_DEG * np.cos(np.radians(lat)))
        alt = self.alt0_m + self.vs_mps * dt_s
        time_text = format_time(at_s)
        return [
            {
                "id": self.ids[i],
                **({"callsign": self.callsigns[i]} if self.callsigns[i] else {}),
                "time": time_text,
                "lat_deg": round(float(lat[i]), 6),
                "lon_deg": round(float(lon[i]), 6),
                "alt_m": round(float(alt[i]), 1),
                "gs_mps": float(self.gs_mps[i]),
                "trk_deg": float(self.trk_deg[i]),
                "vs_mps": float(self.vs_mps[i]),
            }
            for i in range(len(self.ids))
        ]


@dataclass
class Scene:
    """A server with one party's fleet, posted again and again until the scene ends."""

    url: str
    token: str
    fleet: Fleet
    posts: int = 0
    refused: int = 0


def _post(url: str, token: str, states: list[dict[str, Any]]) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(
            "POST",
            "/v1/tracks",
            body=json.dumps({"states": states}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        body = json.loads(response.read())
        if response.status != 202:
            raise RuntimeError(f"POST /v1/tracks: {response.status} {body}")
        answer: dict[str, Any] = body
        return answer
    finally:
        connection.close()


def post_all(scene: Scene, at_s: float) -> None:
    states = scene.fleet.states(at_s)
    for start in range(0, len(states), BATCH):
        answer = _post(scene.url, scene.token, states[start : start + BATCH])
        scene.refused += sum(answer["refused"].values())
    scene.posts += 1


@contextmanager
def fleet_server(aircraft: int, post_every_s: float = 1.0) -> Iterator[Scene]:
    """``deconflict serve`` with one party (``blue``) whose ``aircraft`` are posted every ``post_every_s``."""
    with tempfile.TemporaryDirectory(prefix="deconflict-page-") as folder:
        root = Path(folder)
        db = root / "channel.db"
        with open_storage(db) as storage:
            token = register_party(storage.parties, "blue", None, time.time()).token
        env = {**os.environ, "DECONFLICT_TRACKS_MAX_AIRCRAFT_PER_PARTY": str(max(aircraft, 1) * 2)}
        log = root / "serve.log"
        command = [sys.executable, "-m", "deconflict", "serve", "--db", str(db), "--port", "0"]
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out, env=env)
        stop = threading.Event()
        poster: threading.Thread | None = None
        try:
            deadline = time.monotonic() + STARTUP_S
            while not (match := re.search(r"running on (http://127\.0\.0\.1:\d+)", log.read_text("utf-8"))):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start:\n" + log.read_text("utf-8"))
                time.sleep(0.05)
            scene = Scene(match.group(1), token, Fleet.random(aircraft))
            post_all(scene, time.time())

            def keep_posting() -> None:
                while not stop.wait(post_every_s):
                    post_all(scene, time.time())

            poster = threading.Thread(target=keep_posting, daemon=True)
            poster.start()
            yield scene
        finally:
            stop.set()
            if poster is not None:
                poster.join(timeout=60)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def _inputs(page: Any, types: set[str]) -> list[float]:
    found: list[dict[str, Any]] = page.evaluate("window.__inputs.splice(0)")
    return [float(i["ms"]) for i in found if i["type"] in types]


def _settle(page: Any) -> None:
    """Two frames painted: whatever the last input started has been answered."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))")


def log_in(page: Any, scene: Scene, timeout_ms: float = 60_000) -> float:
    """Open the page and log in; seconds from the click to every aircraft drawn (the first render)."""
    page.goto(scene.url + "/")
    page.get_by_label("Token").fill(scene.token)
    page.evaluate(PROBES)
    started = time.monotonic()
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("body[data-ready=true]", timeout=timeout_ms)
    n = len(scene.fleet.ids)
    page.wait_for_function(
        f"window.deconflictMap.fleet.size === {n} && window.deconflictMap.fleet.drawn === {n}"
        " && !window.deconflictMap.fleet.redrawPending",
        timeout=timeout_ms,
        polling="raf",
    )
    first_render_s = time.monotonic() - started
    page.wait_for_selector("#ws-state[data-state=connected]", timeout=timeout_ms)
    return first_render_s


def click_aircraft(page: Any, aircraft_id: str) -> tuple[float, str]:
    """Click an own aircraft on the map: ms from the click to the frame after the details show, and whose.

    Where aircraft overlap, the one drawn on top is the one clicked: not always ``aircraft_id``.
    """
    point = page.evaluate(f"window.deconflictMap.fleet.screenPoint({json.dumps(aircraft_id)})")
    assert point is not None, f"{aircraft_id} is not drawn"
    page.keyboard.press("Escape")  # no aircraft selected
    page.wait_for_selector("#aircraft-details", state="hidden")
    page.evaluate("window.__inputs.splice(0)")
    page.mouse.click(point["x"], point["y"])
    address = page.locator("#aircraft-details .address")
    address.wait_for()
    _settle(page)
    clicks = _inputs(page, {"click"})
    assert clicks, "the click was not seen"
    return clicks[-1], address.inner_text()


def pan(page: Any) -> tuple[float, float]:
    """Drag the map 200 px left; the slowest of its input events to a painted frame, and the redraw after."""
    box = page.locator("#map").bounding_box()
    x = box["x"] + box["width"] * 0.5
    y = box["y"] + box["height"] * 0.6
    page.evaluate("window.__inputs.splice(0)")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 100, y, steps=5)
    page.mouse.move(x - 200, y, steps=5)
    page.mouse.up()
    page.wait_for_timeout(600)  # the inertia's end: moveend, the aircraft that came in drawn
    _settle(page)
    latencies = _inputs(page, {"mousedown", "mousemove", "mouseup"})
    return max(latencies), float(page.evaluate("window.deconflictMap.fleet.reconciledMs"))


def zoom(page: Any, delta: float) -> float:
    """One wheel step over the map (in for a negative delta); its event to the next painted frame."""
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.evaluate("window.__inputs.splice(0)")
    page.mouse.wheel(0, delta)
    page.wait_for_timeout(600)  # the zoom animation and the redraw after it
    _settle(page)
    wheels = _inputs(page, {"wheel"})
    return max(wheels) if wheels else math.nan


def measure(page: Any, scene: Scene, clicks: int = 5) -> dict[str, Any]:
    """Log in and use the page as an operator would; the figures (see the module's docstring)."""
    first_render_s = log_in(page, scene)
    loading = [float(t) for t in page.evaluate("window.__tasks.splice(0)")]
    page.evaluate(WATCH_UPDATES)
    n = len(scene.fleet.ids)
    picks = [scene.fleet.ids[int(k)] for k in np.linspace(0, n - 1, clicks)]
    click_ms = [click_aircraft(page, aircraft_id)[0] for aircraft_id in picks]
    pan_ms, pan_redraw_ms = pan(page)
    zoom_ms = max(zoom(page, -120.0), zoom(page, 120.0))
    page.wait_for_timeout(2500)  # a few pushed updates
    pieces = [(float(u), float(r), float(longest)) for u, r, longest in page.evaluate("window.__updates")]
    updates = [u + r for u, r, _ in pieces]
    tasks = [float(t) for t in page.evaluate("window.__tasks")]
    return {
        "aircraft": n,
        "first_render_s": round(first_render_s, 2),
        "click_p50_ms": round(_percentile(click_ms, 50), 1),
        "click_max_ms": round(max(click_ms), 1),
        "pan_ms": round(pan_ms, 1),
        "pan_redraw_ms": round(pan_redraw_ms, 1),
        "zoom_ms": round(zoom_ms, 1),
        "update_p50_ms": round(_percentile(updates, 50), 1),
        "update_max_ms": round(max(updates), 1) if updates else math.nan,
        "update_slice_max_ms": round(max(p[2] for p in pieces), 1) if pieces else math.nan,
        "updates": len(updates),
        "longest_task_ms": round(max(tasks), 1) if tasks else 0.0,
        "loading_longest_task_ms": round(max(loading), 1) if loading else 0.0,
        "drawn": int(page.evaluate("window.deconflictMap.fleet.drawn")),
    }


def run(aircraft: int, clicks: int = 5, post_every_s: float = 1.0) -> dict[str, Any]:
    """One scene of ``aircraft`` own aircraft, measured in one browser page."""
    from playwright.sync_api import sync_playwright

    with fleet_server(aircraft, post_every_s) as scene, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # The probes are scripts evaluated from text, which the page's CSP (script-src 'self') refuses.
            context = browser.new_context(
                viewport={"width": 1600, "height": 900}, locale="en-US", bypass_csp=True
            )
            context.set_default_timeout(60_000)
            figures = measure(context.new_page(), scene, clicks)
        finally:
            browser.close()
        figures["refused_states"] = scene.refused
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--aircraft", type=int, nargs="+", default=[25_000], help="own aircraft (several: a run each)"
    )
    parser.add_argument("--clicks", type=int, default=5, help="aircraft clicked")
    parser.add_argument(
        "--post-every", type=float, default=1.0, help="seconds between two posts of the fleet"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    for n in args.aircraft:
        figures = run(n, args.clicks, args.post_every)
        if args.json:
            print(json.dumps(figures))
            continue
        inputs_ms = max(figures["click_max_ms"], figures["pan_ms"], figures["zoom_ms"])
        print(
            f"{n:>7,} aircraft: first render {figures['first_render_s']:.2f} s "
            f"(target < {TARGET_FIRST_RENDER_S:.0f} s), inputs answered in {inputs_ms:.0f} ms at most "
            f"(target < {TARGET_INPUT_MS:.0f} ms): click p50 {figures['click_p50_ms']:.0f} ms, "
            f"pan {figures['pan_ms']:.0f} ms (redraw {figures['pan_redraw_ms']:.0f} ms), "
            f"zoom {figures['zoom_ms']:.0f} ms; update p50 {figures['update_p50_ms']:.0f} ms "
            f"max {figures['update_max_ms']:.0f} ms over {figures['updates']} "
            f"(longest piece {figures['update_slice_max_ms']:.0f} ms); "
            f"longest task {figures['longest_task_ms']:.0f} ms; drawn {figures['drawn']:,}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
