// The party's own aircraft on a canvas (Leaflet's canvas renderer): the latest columns of the
// fleet, drawn only where the map looks, moved in place at each update, with data blocks.
/* global L */

import { dataBlock, escapeHtml } from "./format.js";

/** Beyond the view, this fraction of it on each side is drawn too: a short pan shows no gap. */
const PAD = 0.25;
/** Data blocks are drawn while at most this many aircraft are in view (beyond, only the selected one). */
const LABELS_MAX = 400;
const FONT = "11px 'DejaVu Sans Mono', monospace";
const LINE_PX = 12;

/**
 * One aircraft: a heading arrow on the fleet's canvas. Leaflet's circle marker does the hit
 * test (its radius) and the bookkeeping; only the shape drawn is ours.
 */
const AircraftMarker = L.CircleMarker.extend({
  // The renderer projects its layers itself on zoom and view reset: thousands of per-marker map
  // listeners would cost as much again (and Leaflet checks each new listener against all others).
  getEvents() {
    return {};
  },

  _updatePath() {
    const renderer = this._renderer;
    if (!renderer._drawing || this._empty()) return;
    const ctx = renderer._ctx;
    const { x, y } = this._point;
    const r = this._radius;
    const a = (this.trkDeg * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    // Nose, right wing, tail notch, left wing; rotated clockwise from north (screen y points down).
    const shape = [
      [0, -1.4 * r],
      [r, r],
      [0, 0.45 * r],
      [-r, r],
    ];
    ctx.beginPath();
    shape.forEach(([dx, dy], i) => {
      const px = x + dx * cos - dy * sin;
      const py = y + dx * sin + dy * cos;
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.closePath();
    renderer._fillStroke(ctx, this);
  },
});

/**
 * The data blocks of the aircraft drawn, on the same canvas, after them (brought to the front).
 * Placed greedily, most important first (the selected aircraft, then those in alert), each at
 * the first of four corners where it overlaps no block already placed: labels never overlap.
 */
const DataBlocks = L.Path.extend({
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
    this.labels = new DataBlocks(this, { renderer: this.renderer }).addTo(map);
    this.columns = null; // the latest own columns (GET /v1/tracks/columns' "own")
    this.rowOf = new Map(); // id -> row in the columns
    this.markers = new Map(); // id -> marker, for the aircraft drawn (in or near the view)
    this.bounds = null;
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
    this.reconcile();
  }

  select(id) {
    this.selectedId = id;
    this.reconcile();
  }

  markerStyle(id) {
    const colour =
      id === this.selectedId ? this.style.selected : this.alerted.has(id) ? this.style.alert : this.style.own;
    return { color: "#061018", weight: 1, fillColor: colour, fillOpacity: 1, radius: id === this.selectedId ? 8 : 6 };
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
    const keep = new Set();
    const added = [];
    const moved = [];
    if (c) {
      for (let i = 0; i < c.id.length; i++) {
        const lat = c.lat_deg[i];
        const lon = c.lon_deg[i];
        if (!inView(lat, lon)) continue;
        const id = c.id[i];
        keep.add(id);
        let marker = this.markers.get(id);
        if (!marker) {
          marker = new AircraftMarker([lat, lon], { ...this.markerStyle(id), renderer: this.renderer });
          marker.aircraftId = id;
          marker.trkDeg = c.trk_deg[i];
          this.markers.set(id, marker);
          added.push(marker);
        } else {
          // In place, without setLatLng: that asks the renderer for a redraw per marker.
          marker._latlng = L.latLng(lat, lon);
          marker.trkDeg = c.trk_deg[i];
          const style = this.markerStyle(id);
          if (style.fillColor !== marker.options.fillColor || style.radius !== marker.options.radius) {
            L.setOptions(marker, style);
            marker._radius = style.radius;
          }
          moved.push(marker);
        }
      }
    }
    for (const [id, marker] of this.markers) {
      if (!keep.has(id)) {
        this.group.removeLayer(marker);
        this.markers.delete(id);
      }
    }
    for (const marker of moved) marker._project();
    for (const marker of added) this.group.addLayer(marker);
    this.labels.bringToFront();
    if (this.renderer._map) {
      this.renderer._redrawBounds = null; // the whole canvas, now
      this.renderer._redraw();
    }
    this.reconciledMs = performance.now() - started;
  }

  /** Place and draw the data blocks (see DataBlocks); the boxes placed, in layer pixels. */
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
        ctx.fillStyle = marker.options.fillColor;
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
