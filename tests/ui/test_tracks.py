"""``ui/tracks.js`` and ``ui/tracks-worker.js``, run under Node: pushed ``tracks`` frames decoded.

The own columns come out as typed arrays with their bounds; ids and callsigns travel only when
they changed and are filled in again on the page's side; a frame that comes while another is
being decoded waits, and a later one replaces it.
"""

from __future__ import annotations

import json
from typing import Any

from tests.ui.conftest import RunModule


def _frame(ids: list[str], lat_deg: list[float], callsigns: list[str] | None = None) -> str:
    n = len(ids)
    own = {
        "id": ids,
        "callsign": callsigns if callsigns is not None else [f"CS{k}" for k in range(n)],
        "time_s": [1000.0 + k for k in range(n)],
        "lat_deg": lat_deg,
        "lon_deg": [10.0 - k for k in range(n)],
        "alt_m": [3000.0] * n,
        "gs_mps": [120.5] * n,
        "trk_deg": [90.0] * n,
        "vs_mps": [0.0] * n,
    }
    body = json.dumps({"time": "2026-01-01T00:00:00Z", "own": own, "foreign": []}, separators=(",", ":"))
    return '{"type":"tracks",' + body[1:]


FAKE_WORKER = """
import { decodeTracks } from './tracks.js';
// A Worker that decodes when told to (finish), as the real one does, with its own `previous`.
class FakeWorker {
  constructor() { this.listeners = {}; this.inbox = []; this.previous = null; FakeWorker.last = this; }
  addEventListener(type, f) { this.listeners[type] = f; }
  postMessage(text) { this.inbox.push(text); }
  finish() {
    const { message, kept } = decodeTracks(this.inbox.shift(), this.previous);
    this.previous = kept;
    this.listeners.message({ data: structuredClone(message) });
  }
  terminate() { this.gone = true; }
}
globalThis.Worker = FakeWorker;
"""


def test_a_frame_decodes_to_typed_columns_with_their_bounds(run_module: RunModule) -> None:
    text = _frame(["a1", "b2", "c3"], [50.0, 48.5, 52.25])
    out = run_module(
        "import { decodeTracks, TRACKS_PREFIX } from './tracks.js';\n"
        f"const text = {json.dumps(text)};\n"
        "const { message, transfer, kept } = decodeTracks(text, null);\n"
        "const own = message.own;\n"
        "console.log(JSON.stringify({ prefix: text.startsWith(TRACKS_PREFIX), type: message.type,\n"
        "  typed: own.lat_deg instanceof Float64Array && own.vs_mps instanceof Float64Array,\n"
        "  lat: Array.from(own.lat_deg), gs: Array.from(own.gs_mps), bounds: own.bounds_deg,\n"
        "  id: own.id, callsign: own.callsign, transfer: transfer.length, kept: kept.id }));"
    )
    assert out == {
        "prefix": True,
        "type": "tracks",
        "typed": True,
        "lat": [50.0, 48.5, 52.25],
        "gs": [120.5, 120.5, 120.5],
        "bounds": [48.5, 8.0, 52.25, 10.0],
        "id": ["a1", "b2", "c3"],
        "callsign": ["CS0", "CS1", "CS2"],
        "transfer": 7,
        "kept": ["a1", "b2", "c3"],
    }


def test_ids_and_callsigns_travel_only_when_they_changed(run_module: RunModule) -> None:
    first = _frame(["a1", "b2"], [50.0, 51.0])
    same = _frame(["a1", "b2"], [50.1, 51.1])
    renamed = _frame(["a1", "b2"], [50.2, 51.2], ["CS0", "NEW"])
    other = _frame(["a1", "z9"], [50.3, 51.3], ["CS0", "NEW"])
    empty = _frame([], [])
    out = run_module(
        "import { decodeTracks } from './tracks.js';\n"
        f"const texts = {json.dumps([first, same, renamed, other, empty])};\n"
        "let previous = null; const seen = [];\n"
        "for (const text of texts) {\n"
        "  const { message, kept } = decodeTracks(text, previous); previous = kept;\n"
        "  seen.push([message.own.id, message.own.callsign, message.own.bounds_deg]);\n"
        "}\n"
        "console.log(JSON.stringify(seen));"
    )
    assert out == [
        [["a1", "b2"], ["CS0", "CS1"], [50.0, 9.0, 51.0, 10.0]],
        [None, None, [50.1, 9.0, 51.1, 10.0]],
        [None, ["CS0", "NEW"], [50.2, 9.0, 51.2, 10.0]],
        [["a1", "z9"], None, [50.3, 9.0, 51.3, 10.0]],
        [[], [], None],
    ]


def test_the_decoder_fills_in_ids_and_keeps_only_the_latest_waiting_frame(run_module: RunModule) -> None:
    texts = [_frame(["a1", "b2"], [50.0 + k, 51.0]) for k in range(4)]
    out: Any = run_module(
        FAKE_WORKER + "import { TracksDecoder } from './tracks.js';\n"
        f"const texts = {json.dumps(texts)};\n"
        "const decoder = new TracksDecoder('tracks-worker.js');\n"
        "const worker = FakeWorker.last; const seen = [];\n"
        "const got = (frame) => seen.push([frame.own.lat_deg[0], frame.own.id, frame.own.callsign]);\n"
        "decoder.decode(texts[0], got);\n"
        "decoder.decode(texts[1], got); decoder.decode(texts[2], got); decoder.decode(texts[3], got);\n"
        "const inWorker = worker.inbox.length;\n"
        "worker.finish(); worker.finish();\n"
        "console.log(JSON.stringify({ seen, inWorker, left: worker.inbox.length,\n"
        "  superseded: decoder.superseded, same: seen.length === 2 }));"
    )
    assert out["inWorker"] == 1  # one frame at a time in the worker
    assert out["left"] == 0
    assert out["superseded"] == 2  # frames 1 and 2, replaced by 3 before the worker was free
    assert [lat for lat, _, _ in out["seen"]] == [50.0, 53.0]
    assert all(ids == ["a1", "b2"] and cs == ["CS0", "CS1"] for _, ids, cs in out["seen"])


def test_without_workers_frames_are_decoded_on_the_page(run_module: RunModule) -> None:
    texts = [_frame(["a1"], [50.0]), _frame(["a1"], [50.5])]
    out = run_module(
        "import { TracksDecoder } from './tracks.js';\n"
        f"const texts = {json.dumps(texts)};\n"
        "const decoder = new TracksDecoder('tracks-worker.js'); const seen = [];\n"
        "for (const text of texts) decoder.decode(text, (f) => seen.push([f.own.lat_deg[0], f.own.id]));\n"
        "console.log(JSON.stringify(seen));"
    )
    assert out == [[50.0, ["a1"]], [50.5, ["a1"]]]


def test_the_worker_answers_each_frame_with_its_columns_moved(run_module: RunModule) -> None:
    texts = [_frame(["a1"], [50.0]), _frame(["a1"], [50.5])]
    out = run_module(
        "const posted = [];\n"
        "globalThis.self = { addEventListener(type, f) { this.on = f; },\n"
        "  postMessage(message, transfer) {\n"
        "    posted.push([message.own.lat_deg[0], message.own.id, transfer.length]); } };\n"
        "await import('./tracks-worker.js');\n"
        f"for (const text of {json.dumps(texts)}) self.on({{ data: text }});\n"
        "console.log(JSON.stringify(posted));"
    )
    assert out == [[50.0, ["a1"], 7], [50.5, None, 7]]
