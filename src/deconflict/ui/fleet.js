// The party's own aircraft on a canvas (Leaflet's canvas renderer): the latest columns of the
// fleet, drawn only where the map looks, moved in place at each update, with data blocks.
/* global L */

import { dataBlock, escapeHtml } from "./format.js";

/** Beyond the view, this fraction of it on each side is drawn too: a short pan shows no gap. */
const PAD = 0.15;
/** Data blocks are drawn while at most this many aircraft are in view (beyond, only the selected one). */
const LABELS_MAX = 400;
const FONT = "11px 'DejaVu Sans Mono', monospace";
const LINE_PX = 12;

/** An aircraft's arrow: nose, right wing, tail notch, left wing (in radii; north up, y down). */
const ARROW = [
  [0, -1.4],
  [1, 1],
  [0, 0.45],
  [-1, 1],
];
const RADIUS_PX = 6;
/** Past this many aircraft drawn, their arrows are smaller: half the pixels to write, less overlap. */
const CROWD = 8000;
const CROWD_RADIUS_PX = 4;
/** Aircraft painted per task when an update's redraw is painted ahead (a few milliseconds each). */
const PAINT_SLICE = 3000;
/** A click or hover this far (pixels) beyond an arrow's radius still finds it. */
const HIT_TOLERANCE_PX = 3;
/** A press and release further apart than this (pixels) is a drag of the map, not a click. */
const DRAG_PX = 4;
const HEADING_STEP_DEG = 10;
const HEADINGS = 360 / HEADING_STEP_DEG;

/**
 * An arrow of `colour` and `radius` (pixels) at every HEADING_STEP_DEG: for each, its visible
 * pixels (RGBA as one little-endian number each) and their offsets in an image `width` wide.
 */
function arrowSprites(colour, radius, width) {
  const size = Math.ceil(radius * 3.2);
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const sheet = [];
  for (let k = 0; k < HEADINGS; k++) {
    const a = (k * HEADING_STEP_DEG * Math.PI) / 180;
    ctx.clearRect(0, 0, size, size);
    ctx.beginPath();
    ARROW.forEach(([dx, dy], i) => {
      const px = size / 2 + (dx * Math.cos(a) - dy * Math.sin(a)) * radius;
      const py = size / 2 + (dx * Math.sin(a) + dy * Math.cos(a)) * radius;
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.closePath();
    ctx.fillStyle = colour;
    ctx.fill();
    ctx.strokeStyle = "#061018";
    ctx.lineWidth = 1;
    ctx.stroke();
    const pixels = new Uint32Array(ctx.getImageData(0, 0, size, size).data.buffer);
    const dxs = [];
    const dys = [];
    const values = [];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const value = pixels[y * size + x];
        if (value >>> 24) {
          dxs.push(x - Math.floor(size / 2));
          dys.push(y - Math.floor(size / 2));
          values.push(value);
        }
      }
    }
    sheet.push({
      dx: Int32Array.from(dxs),
      dy: Int32Array.from(dys),
      offset: Int32Array.from(dxs, (dx, i) => dys[i] * width + dx),
      value: Uint32Array.from(values),
      reach: Math.ceil(size / 2),
    });
  }
  return sheet;
}

/** Copy a sprite's pixels centred on (cx, cy); an opaque pixel, or a more opaque one, wins. */
function blitSprite(pixels, width, height, sprite, cx, cy) {
  const { offset, value } = sprite;
  const n = value.length;
  if (cx >= sprite.reach && cx < width - sprite.reach && cy >= sprite.reach && cy < height - sprite.reach) {
    const base = cy * width + cx;
    for (let k = 0; k < n; k++) {
      const v = value[k];
      const i = base + offset[k];
      if (v >>> 24 === 255 || pixels[i] >>> 24 < v >>> 24) pixels[i] = v;
    }
    return;
  }
  for (let k = 0; k < n; k++) {
    const x = cx + sprite.dx[k];
    const y = cy + sprite.dy[k];
    if (x < 0 || y < 0 || x >= width || y >= height) continue;
    const v = value[k];
    const i = y * width + x;
    if (v >>> 24 === 255 || pixels[i] >>> 24 < v >>> 24) pixels[i] = v;
  }
}

/**
 * The fleet's one layer on its canvas (Leaflet's canvas renderer, which sizes, moves and scales
 * the canvas with the map): the aircraft as arrows (Fleet.paint), then their data blocks
 * (Fleet.placeLabels). No Leaflet layer per aircraft: making 25,000 costs a second, and every
 * redraw, hit test and projection walks them all; the fleet keeps plain arrays instead.
 */
const FleetPaint = L.Path.extend({
  options: { interactive: false, stroke: false, fill: false },

  initialize(fleet, options) {
    L.setOptions(this, options);
    this.fleet = fleet;
    this.placed = [];
  },

  _project() {
    // Always in the redraw: the whole plane.
    this._pxBounds = L.bounds([-1e9, -1e9], [1e9, 1e9]);
  },

  _update() {},

  _containsPoint() {
    return false;
  },

  _updatePath() {
    const renderer = this._renderer;
    if (!renderer._drawing) return;
    this.fleet.paint(renderer._ctx);
    this.placed = this.fleet.placeLabels(renderer._ctx);
  },
});

export class Fleet {
  /**
   * @param map the Leaflet map
   * @param style colours: {own, selected, alert}
   * @param onSelect called with an aircraft id when one is clicked
   */
  constructor(map, style, onSelect) {
    this.map = map;
    this.style = style;
    this.onSelect = onSelect;
    // Its own pane, above the plans and the basemap (the overlay pane) and below the markers;
    // the pointer goes through it (app.css), the fleet finds what is under it itself (hit).
    const pane = map.createPane("fleet");
    pane.classList.add("fleet-pane");
    this.renderer = L.canvas({ padding: PAD, pane: "fleet" });
    this.columns = null; // the latest own columns (GET /v1/tracks/columns' "own")
    this.rowOf = new Map(); // id -> row in the columns
    // The aircraft drawn (in or near the view): their rows, and where they are in layer pixels.
    this.shown = new Int32Array(0);
    this.xs = new Float64Array(0);
    this.ys = new Float64Array(0);
    this.bounds = null;
    this.sheets = new Map(); // colour/radius/width -> the arrows' sprites (arrowSprites)
    this.image = null; // the canvas's pixels, reused from one redraw to the next
    this.selectedId = null;
    this.alerted = new Set(); // own ids in alert: labelled first, drawn in the alert colour
    this.updatedMs = 0; // how long the latest update took (main thread, without its redraw)
    this.redrawPending = null; // a redraw asked for by an update (redrawSoon), not done yet
    this.ahead = null; // a paint done ahead (redrawSoon), for the next redraw to put as it is
    this.spare = null; // the image painted ahead into, while this.image is on the canvas
    this.aheadPut = 0; // redraws that put an image painted ahead (for the tests)
    this.onUpdated = null; // (updatedMs, redrawMs, longestMs) after an update's redraw, for the benchmark
    this.tasks = []; // work for nextTask, in order
    this.channel = new MessageChannel();
    this.channel.port1.onmessage = () => this.tasks.shift()?.();
    this.reconciledMs = 0; // and the latest reconcile (after a pan, a zoom or an update)
    this.hover = L.tooltip({ direction: "top", offset: [0, -8] });
    this.hoverId = null;
    this.hoverBusy = false;
    // On the map's element, not as Leaflet map events: the fleet's pane lets the pointer through
    // (plans beneath keep their tooltips), and a click on an aircraft over a plan is still ours.
    const container = map.getContainer();
    let down = null;
    container.addEventListener("mousedown", (event) => {
      down = [event.clientX, event.clientY];
    });
    container.addEventListener("click", (event) => {
      if (down && Math.hypot(event.clientX - down[0], event.clientY - down[1]) > DRAG_PX) return;
      if (event.target.closest(".leaflet-control")) return;
      const id = this.hit(map.mouseEventToLayerPoint(event));
      if (id !== null) this.onSelect(id);
    });
    container.addEventListener("mousemove", (event) => this.onHover(event));
    // Before the renderer's own moveend (it is added below): the aircraft that came in are
    // projected when it redraws, once.
    map.on("moveend", () => this.reconcile({ redraw: false }));
    // Last: adding it draws (the renderer's first update), which reads all of the above.
    this.painter = new FleetPaint(this, { renderer: this.renderer }).addTo(map);
  }

  /** How many own aircraft the party has; how many are drawn now. */
  get size() {
    return this.columns ? this.columns.id.length : 0;
  }

  get drawn() {
    return this.shown.length;
  }

  /** The name shown for an own aircraft: its callsign where known, else its id. */
  nameOf(id) {
    const row = this.rowOf.get(id);
    return row === undefined ? id : this.columns.callsign[row] || id;
  }

  row(id) {
    const row = this.rowOf.get(id);
    if (row === undefined) return null;
    const c = this.columns;
    return {
      id,
      callsign: c.callsign[row],
      time_s: c.time_s[row],
      lat_deg: c.lat_deg[row],
      lon_deg: c.lon_deg[row],
      alt_m: c.alt_m[row],
      gs_mps: c.gs_mps[row],
      trk_deg: c.trk_deg[row],
      vs_mps: c.vs_mps[row],
    };
  }

  tooltipHtml(id) {
    const a = this.row(id);
    const block = dataBlock(a);
    return `<b>${escapeHtml(block.name)}</b> · ${escapeHtml(a.id)}<br>${escapeHtml(block.level)}`;
  }

  /** The aircraft drawn nearest to a layer point, within its arrow (and a few pixels); else null. */
  hit(point) {
    const reach = (this.radius() + HIT_TOLERANCE_PX) ** 2;
    let best = null;
    let bestD = reach;
    for (let k = 0; k < this.shown.length; k++) {
      const dx = this.xs[k] - point.x;
      const dy = this.ys[k] - point.y;
      const d = dx * dx + dy * dy;
      if (d <= bestD) {
        bestD = d;
        best = k;
      }
    }
    return best === null ? null : this.columns.id[this.shown[best]];
  }

  /** The hovered aircraft's name, address and data block (at most one hit test per frame). */
  onHover(event) {
    if (this.hoverBusy) return;
    this.hoverBusy = true;
    requestAnimationFrame(() => {
      this.hoverBusy = false;
      const id = this.map.dragging?.moving() ? null : this.hit(this.map.mouseEventToLayerPoint(event));
      this.map.getContainer().classList.toggle("over-aircraft", id !== null);
      if (id === this.hoverId) return;
      this.hoverId = id;
      if (id === null) {
        this.map.closeTooltip(this.hover);
        return;
      }
      const row = this.rowOf.get(id);
      this.hover.setLatLng([this.columns.lat_deg[row], this.columns.lon_deg[row]]).setContent(this.tooltipHtml(id));
      this.map.openTooltip(this.hover);
    });
  }

  /**
   * Take the fleet's latest columns (null: none): find the aircraft in view now, redraw at the
   * next frame. The columns may carry their bounds (`bounds_deg`: [south, west, north, east], as
   * tracks.js decodes them off the main thread) and the previous columns' very `id` array when
   * the fleet is the same; else both are worked out here. The redraw waits for the next frame, a
   * task of its own, so that an input that comes meanwhile is answered first; of updates that
   * come before that frame, only the latest is drawn.
   */
  update(own) {
    const started = performance.now();
    const before = this.columns;
    this.columns = own && own.id.length ? own : null;
    // The same aircraft as before (the usual case: a fleet at 1 Hz) keep their rows.
    const same = before && this.columns && sameIds(before.id, this.columns.id);
    if (!same) this.rowOf = new Map();
    this.bounds = null;
    if (this.columns) {
      const c = this.columns;
      if (!same) for (let i = 0; i < c.id.length; i++) this.rowOf.set(c.id[i], i);
      const [south, west, north, east] = c.bounds_deg ?? boundsOf(c);
      this.bounds = L.latLngBounds([south, west], [north, east]);
    }
    this.reconcile({ redraw: false });
    this.updatedMs = performance.now() - started;
    this.redrawSoon();
  }

  /**
   * Redraw soon, once however many updates come before: the arrows are painted ahead in slices
   * (the image cleared, then PAINT_SLICE aircraft at a time), each a task of its own (an input
   * that comes meanwhile is answered between two), then put on the canvas at the next frame with
   * the data blocks. A newer update starts the paint again; whatever changed the picture meanwhile
   * (a pan, a zoom, a selection) makes the redraw paint it all at once instead. Then `onUpdated`,
   * when set, is called with the main-thread time of the update and of its redraw, and the
   * longest of those pieces (milliseconds).
   */
  redrawSoon() {
    const pending = this.redrawPending;
    if (pending) {
      pending.updatedMs += this.updatedMs;
      pending.longestMs = Math.max(pending.longestMs, this.updatedMs);
      pending.job = null; // painted again, from the latest columns
      pending.stale = true;
      return;
    }
    const soon = { updatedMs: this.updatedMs, redrawMs: 0, longestMs: this.updatedMs, job: null, stale: true };
    this.redrawPending = soon;
    const timed = (work) => {
      const started = performance.now();
      work();
      const ms = performance.now() - started;
      soon.redrawMs += ms;
      soon.longestMs = Math.max(soon.longestMs, ms);
    };
    const step = () => {
      let done = false;
      timed(() => {
        if (soon.stale) soon.job = this.startPaint(this.spare);
        soon.stale = false;
        done = !soon.job || this.paintSome(soon.job, PAINT_SLICE);
      });
      if (!done) {
        this.nextTask(step);
        return;
      }
      requestAnimationFrame(() => {
        if (soon.stale) {
          this.nextTask(step); // a newer update came: paint it first
          return;
        }
        this.redrawPending = null;
        timed(() => {
          this.ahead = soon.job;
          if (soon.job) this.spare = soon.job.image;
          this.redraw();
          this.ahead = null;
        });
        this.onUpdated?.(soon.updatedMs, soon.redrawMs, soon.longestMs);
      });
    };
    this.nextTask(step);
  }

  /** Run `work` in a task of its own, soon (a message to itself: no timer's clamping). */
  nextTask(work) {
    this.tasks.push(work);
    this.channel.port2.postMessage(null);
  }

  setAlerted(ids) {
    this.alerted = new Set(ids);
    this.redraw();
  }

  /**
   * Select an aircraft (null: none). Its ring is the map's (a marker); the canvas is redrawn
   * at once only where data blocks are drawn (the selected one's first), else at the next update.
   */
  select(id) {
    this.selectedId = id;
    if (this.shown.length <= LABELS_MAX) this.redraw();
  }

  /** The arrows' radius (pixels) now: smaller in a crowd. */
  radius() {
    return this.shown.length > CROWD ? CROWD_RADIUS_PX : RADIUS_PX;
  }

  colourOf(id) {
    return id === this.selectedId ? this.style.selected : this.alerted.has(id) ? this.style.alert : this.style.own;
  }

  /** The whole canvas, now (not at the next frame: the caller's input is answered in this one). */
  redraw() {
    if (!this.renderer._map) return;
    this.renderer._redrawBounds = null;
    this.renderer._redraw();
  }

  /**
   * Find the aircraft in (or near) the view, and where they are in layer pixels; then redraw
   * (unless the renderer is about to: after a pan or zoom).
   */
  reconcile({ redraw = true } = {}) {
    const started = performance.now();
    const c = this.columns;
    const n = c ? c.id.length : 0;
    const shown = new Int32Array(n);
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    let count = 0;
    if (c && this.map._loaded) {
      const view = this.map.getBounds().pad(PAD);
      const south = view.getSouth();
      const north = view.getNorth();
      // Past the antimeridian (worldCopyJump) the view's longitudes run beyond ±180.
      const west = view.getWest();
      const east = view.getEast();
      const project = projector(this.map);
      for (let i = 0; i < n; i++) {
        const lat = c.lat_deg[i];
        if (lat < south || lat > north) continue;
        let lon = c.lon_deg[i];
        if (lon < west) lon += 360;
        else if (lon > east) lon -= 360;
        if (lon < west || lon > east) continue;
        const [x, y] = project(lat, lon);
        shown[count] = i;
        xs[count] = x;
        ys[count] = y;
        count++;
      }
    }
    this.shown = shown.subarray(0, count);
    this.xs = xs.subarray(0, count);
    this.ys = ys.subarray(0, count);
    if (redraw) this.redraw();
    this.reconciledMs = performance.now() - started;
  }

  /**
   * Draw the aircraft in view as arrows, pixel by pixel into one image put on the canvas at once:
   * a canvas call per aircraft (a path, an image or even a rectangle) costs microseconds each in
   * a software-rendered browser, which 25,000 aircraft turn into a redraw of a third of a second.
   * The canvas holds nothing else; the data blocks come after. An image painted ahead in slices
   * (redrawSoon) is put as it is, when what it shows has not changed since.
   */
  paint(ctx) {
    const ahead = this.ahead;
    this.ahead = null;
    if (ahead && sameKey(ahead.key, this.paintKey())) {
      [this.image, this.spare] = [ahead.image, this.image];
      this.aheadPut++;
      ctx.putImageData(this.image, 0, 0);
      return;
    }
    const job = this.startPaint(this.image);
    if (!job) return; // the map is hidden (before the log-in)
    this.image = job.image;
    this.paintSome(job, Infinity);
    ctx.putImageData(this.image, 0, 0);
  }

  /** What a painted image shows: the canvas's size and place, the aircraft drawn, their colours. */
  paintKey() {
    const canvas = this.renderer._container;
    const b = this.renderer._bounds;
    if (!canvas || !b) return null;
    const { width, height } = canvas;
    return [width, height, b.min.x, b.min.y, b.max.x, b.max.y, this.shown, this.selectedId, this.alerted, this.columns];
  }

  /**
   * A paint of the aircraft in view into `image` (reused when the canvas's size, else a new one),
   * cleared, to be done by paintSome; null when the map is hidden.
   */
  startPaint(image) {
    const key = this.paintKey();
    if (!key || !key[0] || !key[1]) return null;
    const [width, height] = key;
    const b = this.renderer._bounds;
    if (!image || image.width !== width || image.height !== height) image = new ImageData(width, height);
    const pixels = new Uint32Array(image.data.buffer);
    const scale = width / Math.max(1, b.max.x - b.min.x); // 2 on a retina screen
    const radius = this.radius();
    return {
      key,
      image,
      pixels,
      scale,
      xs: this.xs, // where the aircraft of `shown` (in the key) are
      ys: this.ys,
      own: this.sprites(this.style.own, radius * scale, width),
      alert: this.sprites(this.style.alert, radius * scale, width),
      cleared: false, // the image is cleared first (a task of its own when in slices)
      next: 0, // the next aircraft (in `shown`) to draw
      selected: null, // where the selected one is in `shown`: drawn last, on top
    };
  }

  /**
   * Clear the image of a paint, or draw at most `count` more of its aircraft (the selected one
   * last) where it is cleared already; true once all are drawn.
   */
  paintSome(job, count) {
    if (!job.cleared) {
      job.pixels.fill(0);
      job.cleared = true;
      if (count !== Infinity) return false;
    }
    const [width, height, minX, minY, , , shown, selectedId, alerted, c] = job.key;
    const { pixels, scale, xs, ys } = job;
    const blit = (k, sheet) => {
      const trk = c.trk_deg[shown[k]];
      const frame = sheet[Math.round((((trk % 360) + 360) % 360) / HEADING_STEP_DEG) % HEADINGS];
      const cx = Math.round((xs[k] - minX) * scale);
      const cy = Math.round((ys[k] - minY) * scale);
      blitSprite(pixels, width, height, frame, cx, cy);
    };
    const alerting = alerted.size > 0;
    const end = Math.min(shown.length, job.next + count);
    for (let k = job.next; k < end; k++) {
      const id = c.id[shown[k]];
      if (id === selectedId) job.selected = k;
      else blit(k, alerting && alerted.has(id) ? job.alert : job.own);
    }
    job.next = end;
    if (end < shown.length) return false;
    if (job.selected !== null) blit(job.selected, this.sprites(this.style.selected, RADIUS_PX * 1.4 * scale, width));
    return true;
  }

  /** The arrows of one colour and size at every HEADING_STEP_DEG, as sprites for rows `width` long. */
  sprites(colour, radius, width) {
    const key = `${colour}/${radius}/${width}`;
    let sheet = this.sheets.get(key);
    if (!sheet) {
      sheet = arrowSprites(colour, radius, width);
      this.sheets.set(key, sheet);
    }
    return sheet;
  }

  /** Place and draw the data blocks (drawn by FleetPaint); the boxes placed, in layer pixels. */
  placeLabels(ctx) {
    const c = this.columns;
    if (!c) return [];
    const candidates = [];
    if (this.shown.length <= LABELS_MAX) {
      for (let k = 0; k < this.shown.length; k++) candidates.push(k);
    } else {
      const k = this.indexOf(this.selectedId);
      if (k !== null) candidates.push(k);
    }
    const rank = (k) => {
      const id = c.id[this.shown[k]];
      return id === this.selectedId ? 0 : this.alerted.has(id) ? 1 : 2;
    };
    candidates.sort((a, b) => rank(a) - rank(b));
    ctx.save();
    ctx.font = FONT;
    ctx.textBaseline = "top";
    const placed = [];
    const overlaps = (box) =>
      placed.some((p) => box.x0 < p.x1 && p.x0 < box.x1 && box.y0 < p.y1 && p.y0 < box.y1);
    for (const k of candidates) {
      const id = c.id[this.shown[k]];
      const block = dataBlock(this.row(id));
      const lines = [block.name, block.level];
      const w = Math.max(...lines.map((line) => ctx.measureText(line).width)) + 6;
      const h = lines.length * LINE_PX + 4;
      const x = this.xs[k];
      const y = this.ys[k];
      const corners = [
        [x + 9, y - h - 3],
        [x + 9, y + 5],
        [x - w - 9, y - h - 3],
        [x - w - 9, y + 5],
      ];
      for (const [x0, y0] of corners) {
        const box = { id, x0, y0, x1: x0 + w, y1: y0 + h };
        if (overlaps(box)) continue;
        placed.push(box);
        ctx.globalAlpha = 0.85;
        ctx.fillStyle = "#0b141d";
        ctx.fillRect(x0, y0, w, h);
        ctx.globalAlpha = 1;
        ctx.fillStyle = this.colourOf(id);
        lines.forEach((line, j) => ctx.fillText(line, x0 + 3, y0 + 2 + j * LINE_PX));
        break;
      }
    }
    ctx.restore();
    return placed;
  }

  /** Where in `shown` an aircraft is, or null when it is not drawn. */
  indexOf(id) {
    if (id === null) return null;
    const row = this.rowOf.get(id);
    if (row === undefined) return null;
    const k = this.shown.indexOf(row);
    return k < 0 ? null : k;
  }

  /** Where an own aircraft is on the page (client pixels), or null when it is not drawn. */
  screenPoint(id) {
    const k = this.indexOf(id);
    if (k === null) return null;
    const point = this.map.layerPointToContainerPoint([this.xs[k], this.ys[k]]);
    const box = this.map.getContainer().getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  }
}

function sameKey(a, b) {
  return a !== null && b !== null && a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameIds(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** [south, west, north, east] of columns' positions (degrees). */
function boundsOf(c) {
  let south = 90;
  let north = -90;
  let west = 180;
  let east = -180;
  for (let i = 0; i < c.id.length; i++) {
    south = Math.min(south, c.lat_deg[i]);
    north = Math.max(north, c.lat_deg[i]);
    west = Math.min(west, c.lon_deg[i]);
    east = Math.max(east, c.lon_deg[i]);
  }
  return [south, west, north, east];
}

/**
 * (lat, lon) -> layer pixels at the map's zoom: Leaflet's latLngToLayerPoint without its three
 * objects per call, for the spherical Mercator every Leaflet map uses unless told otherwise.
 */
function projector(map) {
  if (map.options.crs !== L.CRS.EPSG3857) {
    return (lat, lon) => {
      const p = map.latLngToLayerPoint([lat, lon]);
      return [p.x, p.y];
    };
  }
  const scale = 256 * 2 ** map.getZoom();
  const origin = map.getPixelOrigin();
  const limit = L.Projection.SphericalMercator.MAX_LATITUDE;
  const d = Math.PI / 180;
  return (lat, lon) => {
    const sin = Math.sin(Math.max(Math.min(limit, lat), -limit) * d);
    const x = scale * (0.5 + lon / 360);
    const y = scale * (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI));
    return [Math.round(x) - origin.x, Math.round(y) - origin.y];
  };
}
