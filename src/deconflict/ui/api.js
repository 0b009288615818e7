// The channel's REST API and its event WebSocket, as the page uses them.

import { TRACKS_PREFIX, TracksDecoder } from "./tracks.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

/** Marker for a route this server does not have (yet): panels show a note instead of failing. */
export const MISSING = Object.freeze({ missing: true });

export class Api {
  constructor(token, lang) {
    this.token = token;
    this.lang = lang;
  }

  /** `body`: sent as JSON, or as it is when a Blob or ArrayBuffer (a file's bytes); `headers`: extra ones. */
  async call(method, path, body, headers = {}) {
    const url = new URL(path, window.location.origin);
    url.searchParams.set("lang", this.lang);
    const init = { method, headers: { ...headers, Authorization: `Bearer ${this.token}` } };
    if (body instanceof Blob || body instanceof ArrayBuffer) {
      init.headers["Content-Type"] = "application/octet-stream";
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (!response.ok) {
      throw new ApiError(response.status, data && data.detail !== undefined ? data.detail : data);
    }
    return data;
  }

  get(path) {
    return this.call("GET", path);
  }

  post(path, body, headers) {
    return this.call("POST", path, body ?? {}, headers);
  }

  put(path, body, headers) {
    return this.call("PUT", path, body, headers);
  }

  /** POST a change of an object at `version` (sent as If-Match, like the CLI's --version). */
  postIfMatch(path, version, body) {
    return this.call("POST", path, body ?? {}, { "If-Match": `"${version}"` });
  }

  /** GET a download: its bytes as a Blob and the file name the server gives (Content-Disposition). */
  async download(path, fallbackName) {
    const url = new URL(path, window.location.origin);
    url.searchParams.set("lang", this.lang);
    const response = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!response.ok) {
      const text = await response.text();
      let detail = text;
      try {
        detail = JSON.parse(text).detail ?? text;
      } catch {
        // not JSON: the text itself
      }
      throw new ApiError(response.status, detail);
    }
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
    return { blob: await response.blob(), name };
  }

  /** GET, answering MISSING when the route is not there (404 on a collection route). */
  async optional(path) {
    try {
      return await this.get(path);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return MISSING;
      throw error;
    }
  }

  /**
   * Every item of a paged listing (`{[key]: [...], next}`), following `next` from the first page;
   * MISSING as `optional` answers it.
   */
  async optionalPages(path, key) {
    const first = await this.optional(path);
    if (first === MISSING) return MISSING;
    const items = [...first[key]];
    let next = first.next;
    while (next) {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.get(`${path}${sep}after=${encodeURIComponent(next)}`);
      items.push(...page[key]);
      next = page.next;
    }
    return { [key]: items };
  }
}

/**
 * The live event connection: authenticates with a first frame, reconnects with
 * back-off, and reports its state ("connecting", "connected", "offline"). It
 * keeps the id of the last event it received and gives it back when it
 * reconnects (`last_event_id`), so the server sends every event it missed once.
 * `tracks` frames (a large fleet's, megabytes each, no id) are decoded off the main thread
 * (tracks.js) and given to `onEvent` when decoded; the others at once, in order.
 */
export class EventStream {
  constructor({ token, lang, onEvent, onState, onRejected }) {
    this.token = token;
    this.lang = lang;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onRejected = onRejected;
    this.socket = null;
    this.stopped = false;
    this.delayMs = 1000;
    this.timer = null;
    this.lastEventId = null;
    this.tracks = null; // the TracksDecoder, made with the first connection
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.onState("connecting");
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    // tracks=true: the party's aircraft are pushed after each detection cycle (no polling).
    const socket = new WebSocket(`${scheme}://${window.location.host}/v1/events?lang=${this.lang}&tracks=true`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      const auth = { type: "auth", token: this.token };
      if (this.lastEventId !== null) auth.last_event_id = this.lastEventId;
      socket.send(JSON.stringify(auth));
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string" && event.data.startsWith(TRACKS_PREFIX)) {
        this.tracks ??= new TracksDecoder(new URL("./tracks-worker.js", import.meta.url));
        this.tracks.decode(event.data, (frame) => {
          if (!this.stopped) this.onEvent(frame);
        });
        return;
      }
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "ready") {
        this.delayMs = 1000;
        this.onState("connected");
      }
      // Ids are opaque, in no order; frames come in order, so the latest frame's id is the last event's.
      if (Number.isInteger(frame.id) && this.socket === socket) this.lastEventId = frame.id;
      this.onEvent(frame);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onState("offline");
      if (event.code === 1008) {
        this.stopped = true;
        this.onRejected();
        return;
      }
      this.schedule();
    });
  }

  schedule() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, 15000);
  }

  restart(lang) {
    this.lang = lang;
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
    this.delayMs = 1000;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.tracks?.stop();
    this.tracks = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
  }
}
