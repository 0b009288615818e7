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
 * One aircraft for Leaflet's canvas renderer, which projects it, tests it for clicks and hover
 * (a circle marker's radius) and dispatches its events. It draws nothing itself: the fleet's
 * painter (FleetPaint) draws all of them at once (see Fleet.paint).
 */
const AircraftMarker = L.CircleMarker.extend({
  // The renderer projects its layers itself on zoom and view reset: thousands of per-marker map
  // listeners would cost as much again (and Leaflet checks each new listener against all others).
  getEvents() {
    return {};
  },

  _updatePath() {},
});

/**
 * The fleet's drawing on its canvas, after the markers (brought to the front): the aircraft as
 * arrows (Fleet.paint), then their data blocks (Fleet.placeLabels).
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
    this.renderer = L.canvas({ padding: PAD, tolerance: 3 });
    this.group = L.featureGroup().addTo(map);
    this.columns = null; // the latest own columns (GET /v1/tracks/columns' "own")
    this.rowOf = new Map(); // id -> row in the columns
    this.markers = new Map(); // id -> marker, for the aircraft drawn (in or near the view)
    this.bounds = null;
    this.sheets = new Map(); // colour/radius/width -> the arrows' sprites (arrowSprites)
    this.image = null; // the canvas's pixels, reused from one redraw to the next
    this.generation = 0; // of the latest reconcile: a marker not seen in it has left the view
    this.selectedId = null;
    this.alerted = new Set(); // own ids in alert: labelled first, drawn in the alert colour
    this.updatedMs = 0; // how long the latest update took (main thread), for the benchmark
    this.reconciledMs = 0; // and the latest redraw (after a pan, a zoom or an update)
    this.hover = L.tooltip({ direction: "top", offset: [0, -8] });
    this.group.on("click", (event) => {
      L.DomEvent.stopPropagation(event);
      this.onSelect(event.layer.aircraftId);
    });
    this.group.on("mouseover", (event) => {
      const row = this.rowOf.get(event.layer.aircraftId);
      if (row === undefined) return;
      this.hover.setLatLng(event.layer.getLatLng()).setContent(this.tooltipHtml(row));
      this.map.openTooltip(this.hover);
    });
    this.group.on("mouseout", () => this.map.closeTooltip(this.hover));
    map.on("moveend", () => this.reconcile());
    // Last: adding it draws (the renderer's first update), which reads all of the above.
    this.painter = new FleetPaint(this, { renderer: this.renderer }).addTo(map);
  }

  /** How many own aircraft the party has; how many are drawn now. */
  get size() {
    return this.columns ? this.columns.id.length : 0;
  }

  get drawn() {
    return this.markers.size;
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

  tooltipHtml(row) {
    const a = this.row(this.columns.id[row]);
    const block = dataBlock(a);
    return `<b>${escapeHtml(block.name)}</b> · ${escapeHtml(a.id)}<br>${escapeHtml(block.level)}`;
  }

  /** Take the fleet's latest columns (null: none) and redraw. */
  update(own) {
    const started = performance.now();
    this.columns = own && own.id.length ? own : null;
    this.rowOf = new Map();
    this.bounds = null;
    if (this.columns) {
      const c = this.columns;
      let south = 90;
      let north = -90;
      let west = 180;
      let east = -180;
      for (let i = 0; i < c.id.length; i++) {
        this.rowOf.set(c.id[i], i);
        south = Math.min(south, c.lat_deg[i]);
        north = Math.max(north, c.lat_deg[i]);
        west = Math.min(west, c.lon_deg[i]);
        east = Math.max(east, c.lon_deg[i]);
      }
      this.bounds = L.latLngBounds([south, west], [north, east]);
    }
    this.reconcile();
    this.updatedMs = performance.now() - started;
  }

  setAlerted(ids) {
    this.alerted = new Set(ids);
    this.redraw();
  }

  select(id) {
    this.selectedId = id;
    this.redraw();
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
   * Draw the aircraft in view as arrows, pixel by pixel into one image put on the canvas at once:
   * a canvas call per aircraft (a path, an image or even a rectangle) costs microseconds each in
   * a software-rendered browser, which 25,000 aircraft turn into a redraw of a third of a second.
   * The canvas holds nothing else (the markers draw nothing); the data blocks come after.
   */
  paint(ctx) {
    const canvas = this.renderer._container;
    const width = canvas.width;
    const height = canvas.height;
    if (!width || !height) return; // the map is hidden (before the log-in)
    const b = this.renderer._bounds;
    const scale = width / Math.max(1, b.max.x - b.min.x); // 2 on a retina screen
    if (!this.image || this.image.width !== width || this.image.height !== height) {
      this.image = ctx.createImageData(width, height);
      this.pixels = new Uint32Array(this.image.data.buffer);
    } else {
      this.pixels.fill(0);
    }
    const blit = (marker, sheet) => {
      const frame = sheet[Math.round((((marker.trkDeg % 360) + 360) % 360) / HEADING_STEP_DEG) % HEADINGS];
      const cx = Math.round((marker._point.x - b.min.x) * scale);
      const cy = Math.round((marker._point.y - b.min.y) * scale);
      blitSprite(this.pixels, width, height, frame, cx, cy);
    };
    const own = this.sprites(this.style.own, RADIUS_PX * scale, width);
    const alert = this.sprites(this.style.alert, RADIUS_PX * scale, width);
    let selected = null;
    for (const marker of this.markers.values()) {
      if (marker.aircraftId === this.selectedId) selected = marker;
      else blit(marker, this.alerted.has(marker.aircraftId) ? alert : own);
    }
    if (selected) blit(selected, this.sprites(this.style.selected, RADIUS_PX * 1.4 * scale, width));
    ctx.putImageData(this.image, 0, 0);
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

  /**
   * Draw the aircraft in (or near) the view and no others: markers of those that came in are
   * made, those that left dropped, the rest moved in place; then one redraw of the canvas.
   */
  reconcile() {
    const started = performance.now();
    const c = this.columns;
    const view = this.map.getBounds().pad(PAD);
    const south = view.getSouth();
    const north = view.getNorth();
    // Past the antimeridian (worldCopyJump) the view's longitudes run beyond ±180.
    const west = view.getWest();
    const east = view.getEast();
    const inView = (lat, lon) =>
      lat >= south && lat <= north && ((lon >= west && lon <= east) || (lon + 360 >= west && lon + 360 <= east) || (lon - 360 >= west && lon - 360 <= east));
    const generation = ++this.generation;
    const added = [];
    if (c) {
      for (let i = 0; i < c.id.length; i++) {
        const lat = c.lat_deg[i];
        const lon = c.lon_deg[i];
        if (!inView(lat, lon)) continue;
        const id = c.id[i];
        let marker = this.markers.get(id);
        if (!marker) {
          marker = new AircraftMarker([lat, lon], { radius: RADIUS_PX, stroke: false, renderer: this.renderer });
          marker.aircraftId = id;
          this.markers.set(id, marker);
          added.push(marker);
        } else if (marker._latlng.lat !== lat || marker._latlng.lng !== lon) {
          // In place, without setLatLng: that asks the renderer for a redraw per marker.
          marker._latlng = L.latLng(lat, lon);
          marker._project();
        }
        marker.trkDeg = c.trk_deg[i];
        marker.generation = generation;
      }
    }
    for (const [id, marker] of this.markers) {
      if (marker.generation !== generation) {
        this.group.removeLayer(marker);
        this.markers.delete(id);
      }
    }
    for (const marker of added) this.group.addLayer(marker);
    this.painter.bringToFront();
    this.redraw();
    this.reconciledMs = performance.now() - started;
  }

  /** Place and draw the data blocks (drawn by FleetPaint); the boxes placed, in layer pixels. */
  placeLabels(ctx) {
    const c = this.columns;
    if (!c) return [];
    const candidates = [];
    if (this.markers.size <= LABELS_MAX) {
      for (const marker of this.markers.values()) candidates.push(marker);
    } else if (this.selectedId && this.markers.has(this.selectedId)) {
      candidates.push(this.markers.get(this.selectedId));
    }
    const rank = (m) => (m.aircraftId === this.selectedId ? 0 : this.alerted.has(m.aircraftId) ? 1 : 2);
    candidates.sort((a, b) => rank(a) - rank(b));
    ctx.save();
    ctx.font = FONT;
    ctx.textBaseline = "top";
    const placed = [];
    const overlaps = (box) =>
      placed.some((p) => box.x0 < p.x1 && p.x0 < box.x1 && box.y0 < p.y1 && p.y0 < box.y1);
    for (const marker of candidates) {
      const block = dataBlock(this.row(marker.aircraftId));
      const lines = [block.name, block.level];
      const w = Math.max(...lines.map((line) => ctx.measureText(line).width)) + 6;
      const h = lines.length * LINE_PX + 4;
      const { x, y } = marker._point;
      const corners = [
        [x + 9, y - h - 3],
        [x + 9, y + 5],
        [x - w - 9, y - h - 3],
        [x - w - 9, y + 5],
      ];
      for (const [x0, y0] of corners) {
        const box = { id: marker.aircraftId, x0, y0, x1: x0 + w, y1: y0 + h };
        if (overlaps(box)) continue;
        placed.push(box);
        ctx.globalAlpha = 0.85;
        ctx.fillStyle = "#0b141d";
        ctx.fillRect(x0, y0, w, h);
        ctx.globalAlpha = 1;
        ctx.fillStyle = this.colourOf(marker.aircraftId);
        lines.forEach((line, k) => ctx.fillText(line, x0 + 3, y0 + 2 + k * LINE_PX));
        break;
      }
    }
    ctx.restore();
    return placed;
  }

  /** Where an own aircraft is on the page (client pixels), or null when it is not drawn. */
  screenPoint(id) {
    const marker = this.markers.get(id);
    if (!marker) return null;
    const point = this.map.latLngToContainerPoint(marker.getLatLng());
    const box = this.map.getContainer().getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  }
}
