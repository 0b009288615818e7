// The pushed `tracks` frames, decoded off the main thread: a Web Worker (tracks-worker.js) parses
// each frame's text and hands back the own aircraft's numeric columns as typed arrays (moved, not
// copied), their bounds, and their ids and callsigns only when these changed; the main thread
// keeps nothing of a frame superseded while another was being decoded.

/** How every `tracks` frame's text begins (the server writes it so: api/routers/events.py). */
export const TRACKS_PREFIX = '{"type":"tracks",';

/** The own columns that are numbers: typed arrays out of the worker. */
export const NUMERIC_COLUMNS = ["time_s", "lat_deg", "lon_deg", "alt_m", "gs_mps", "trk_deg", "vs_mps"];

function sameStrings(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decode a `tracks` frame's text, given the ids and callsigns of the one decoded before it
 * (`previous`: {id, callsign}, or null). Answers {message, transfer, kept}: `message` the frame
 * with its own numeric columns as Float64Arrays, `own.bounds_deg` ([south, west, north, east] in
 * degrees, null when it has no aircraft), and `own.id` / `own.callsign` null where they equal the
 * previous ones (the usual case: the same fleet at 1 Hz); `transfer` the arrays' buffers; `kept`
 * the ids and callsigns to give as `previous` to the next call.
 */
export function decodeTracks(text, previous) {
  const frame = JSON.parse(text);
  const own = frame.own ?? { id: [], callsign: [] };
  const transfer = [];
  for (const name of NUMERIC_COLUMNS) {
    const column = Float64Array.from(own[name] ?? []);
    own[name] = column;
    transfer.push(column.buffer);
  }
  const n = own.id.length;
  let south = 90;
  let north = -90;
  let west = 180;
  let east = -180;
  for (let i = 0; i < n; i++) {
    const lat = own.lat_deg[i];
    const lon = own.lon_deg[i];
    if (lat < south) south = lat;
    if (lat > north) north = lat;
    if (lon < west) west = lon;
    if (lon > east) east = lon;
  }
  own.bounds_deg = n ? [south, west, north, east] : null;
  const kept = { id: own.id, callsign: own.callsign };
  if (previous && sameStrings(previous.id, own.id)) own.id = null;
  if (previous && sameStrings(previous.callsign, own.callsign)) own.callsign = null;
  frame.own = own;
  return { message: frame, transfer, kept };
}

/**
 * The main thread's side: `decode(text, onFrame)` calls `onFrame(frame)` with the frame decoded
 * (its own ids and callsigns filled in again). One frame is decoded at a time; a frame that comes
 * while one is being decoded waits, and a later one replaces it (only the latest picture counts).
 * Without Workers (or when the worker fails) it decodes on the main thread, the same way.
 */
export class TracksDecoder {
  constructor(workerUrl) {
    this.worker = null;
    try {
      this.worker = typeof Worker === "undefined" ? null : new Worker(workerUrl, { type: "module" });
    } catch {
      this.worker = null;
    }
    this.busy = null; // the onFrame of the frame in the worker, or null
    this.waiting = null; // {text, onFrame}: the latest frame come meanwhile
    this.previous = null; // the ids and callsigns of the latest frame decoded, on this side
    this.superseded = 0; // frames replaced before being decoded
    if (this.worker) {
      this.worker.addEventListener("message", (event) => this.decoded(event.data));
      this.worker.addEventListener("error", () => this.fail());
    }
  }

  decode(text, onFrame) {
    if (!this.worker) {
      const { message, kept } = decodeTracks(text, this.previous);
      onFrame(this.filled(message, kept));
      return;
    }
    if (this.busy) {
      if (this.waiting) this.superseded++;
      this.waiting = { text, onFrame };
      return;
    }
    this.busy = onFrame;
    this.worker.postMessage(text);
  }

  /** The worker's frame, with the ids and callsigns it left out when unchanged. */
  decoded(message) {
    const onFrame = this.busy;
    this.busy = null;
    const frame = this.filled(message, null);
    const next = this.waiting;
    this.waiting = null;
    if (next) this.decode(next.text, next.onFrame);
    if (onFrame) onFrame(frame);
  }

  filled(message, kept) {
    const own = message.own;
    own.id = own.id ?? this.previous.id;
    own.callsign = own.callsign ?? this.previous.callsign;
    this.previous = kept ?? { id: own.id, callsign: own.callsign };
    return message;
  }

  /** The worker failed: decode here from now on (the frame in it is lost; the next one comes in a second). */
  fail() {
    this.worker?.terminate();
    this.worker = null;
    this.busy = null;
    const next = this.waiting;
    this.waiting = null;
    // The worker's record of the previous ids is gone with it: the next frame carries them all.
    this.previous = null;
    if (next) this.decode(next.text, next.onFrame);
  }

  stop() {
    this.worker?.terminate();
    this.worker = null;
    this.busy = null;
    this.waiting = null;
  }
}
