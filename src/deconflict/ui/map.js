// The map: offline world basemap, own plans, conflict regions, live tracks, alerts, incidents.
/* global L, topojson */

import { Fleet } from "./fleet.js";
import {
  escapeHtml,
  formatAltitude,
  formatAltitudeBand,
  formatBound,
  formatDistance,
  formatDuration,
  formatHeight,
  formatSpeed,
  formatTime,
  formatWindow,
  parseTime,
} from "./format.js";
import { t } from "./i18n.js";
import { activeAt } from "./timeline.js";

/** Alert lines labelled with their time to loss at most (the most urgent): more would hide the map. */
const ALERT_LABELS_MAX = 50;

export const COLOURS = {
  own: "#4db8ff",
  selected: "#ffffff",
  plan: "#3d8bfd",
  conflict: "#d45cff",
  blind: "#2ee6a6",
  advisory: "#ffc107",
  warning: "#ff7a1a",
  loss: "#ff2d2d",
  incident: "#ff2d2d",
};

function diamondIcon(colour, label) {
  const svg =
    `<svg viewBox="-12 -12 24 24" width="24" height="24">` +
    `<path d="M0,-10 L10,0 L0,10 L-10,0 Z" fill="${colour}" stroke="#ffffff" stroke-width="2"/></svg>`;
  return L.divIcon({
    className: "ac-icon",
    html: `${svg}<span class="ac-label foreign-label" style="border-color:${colour}">${escapeHtml(label)}</span>`,
    iconSize: [24, 24],
    iconAnchor: [12, 12],
  });
}

function incidentIcon() {
  return L.divIcon({
    className: "incident-icon",
    html: `<svg viewBox="-12 -12 24 24" width="24" height="24"><circle r="9" fill="none" stroke="${COLOURS.incident}" stroke-width="3"/><path d="M-6,-6 L6,6 M6,-6 L-6,6" stroke="${COLOURS.incident}" stroke-width="3"/></svg>`,
    iconSize: [24, 24],
    iconAnchor: [12, 12],
  });
}

export class MapView {
  /** `onSelect(id)`: an own aircraft was clicked on the map. */
  constructor(element, onSelect) {
    this.map = L.map(element, { zoomControl: true, worldCopyJump: true, minZoom: 2, preferCanvas: false });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution("Natural Earth (world-atlas), GeoNames (CC BY 4.0)");
    this.map.setView([30, 20], 3);
    this.layers = {
      basemap: L.layerGroup().addTo(this.map),
      plans: L.layerGroup().addTo(this.map),
      conflicts: L.layerGroup().addTo(this.map),
      blind: L.layerGroup().addTo(this.map),
      incidents: L.layerGroup().addTo(this.map),
      trails: L.layerGroup().addTo(this.map),
      alerts: L.layerGroup().addTo(this.map),
      tracks: L.layerGroup().addTo(this.map),
      selected: L.layerGroup().addTo(this.map),
    };
    // Alert lines on a canvas: a dense scene has thousands.
    this.map.createPane("alert-lines").classList.add("alert-lines-pane");
    this.alertRenderer = L.canvas({ padding: 0.25, pane: "alert-lines" });
    this.fleet = new Fleet(this.map, { own: COLOURS.own, selected: COLOURS.selected, alert: COLOURS.warning }, (id) =>
      onSelect?.(id),
    );
    this.volumes = []; // {layer, startMs, endMs}
    this.conflictAreas = []; // the same, of the conflict regions
    this.timeMs = null;
    this.planBounds = null;
    this.trackBounds = null;
    this.fitted = false;
    this.tracksFitted = false;
  }

  async loadBasemap(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`basemap: ${response.status}`);
    const topo = await response.json();
    const land = topojson.feature(topo, topo.objects.countries);
    // A pane of its own, under everything else (the graticule and overlays of ui/geo.js too).
    if (!this.map.getPane("basemap")) this.map.createPane("basemap").style.zIndex = "300";
    L.geoJSON(land, {
      interactive: false,
      pane: "basemap",
      style: { color: "#5b6b7c", weight: 0.8, fillColor: "#1f2a36", fillOpacity: 1 },
    }).addTo(this.layers.basemap);
  }

  setPlans(operations) {
    this.layers.plans.clearLayers();
    this.volumes = [];
    const bounds = L.latLngBounds([]);
    for (const operation of operations) {
      for (const feature of operation.volumes.features) {
        const p = feature.properties;
        const style = { color: COLOURS.plan, weight: 2, fillColor: COLOURS.plan, fillOpacity: 0.18 };
        const layer =
          feature.geometry.type === "Point"
            ? L.circle([feature.geometry.coordinates[1], feature.geometry.coordinates[0]], {
                ...style,
                radius: Number(p.radius_m),
              })
            : L.geoJSON(feature, { style });
        layer.bindTooltip(
          `<b>${escapeHtml(operation.id)}</b> · ${escapeHtml(p.id)}<br>` +
            `${formatWindow(parseTime(p.time_start), parseTime(p.time_end))}<br>` +
            `${escapeHtml(formatBound(p.altitude_lower))} – ${escapeHtml(formatBound(p.altitude_upper))}`,
          { sticky: true },
        );
        this.volumes.push({ layer, startMs: parseTime(p.time_start), endMs: parseTime(p.time_end) });
        // A circle's getBounds() needs the map it is on; its centre and radius say the same.
        bounds.extend(
          layer instanceof L.Circle ? layer.getLatLng().toBounds(2 * Number(p.radius_m)) : layer.getBounds(),
        );
      }
    }
    this.planBounds = bounds.isValid() ? bounds : null;
    this.applyTime();
    if (!this.fitted && this.planBounds) {
      this.fitted = true;
      this.fitOwn();
    }
  }

  /**
   * Draw a shape to file: "polygon" (a click per vertex, a double click or a click on the first
   * vertex ends it) or "circle" (a click on the centre, a second at the radius). `onDone(shape)`
   * gets {kind: "polygon", ring: [[lon, lat], ...]} or {kind: "circle", centre: [lon, lat], radius_m}.
   */
  startDrawing(kind, onDone) {
    this.stopDrawing();
    const style = { color: COLOURS.selected, weight: 2, dashArray: "4 4", fillOpacity: 0.1 };
    const sketch = L.layerGroup().addTo(this.map);
    const points = [];
    const finish = (shape) => {
      this.stopDrawing(true);
      this.drawn = L.layerGroup(sketch.getLayers()).addTo(this.map);
      onDone(shape);
    };
    const click = (event) => {
      const at = event.latlng.wrap();
      if (kind === "circle") {
        if (!points.length) {
          points.push(at);
          L.circleMarker(at, { ...style, radius: 3 }).addTo(sketch);
          return;
        }
        const radius_m = this.map.distance(points[0], at);
        L.circle(points[0], { ...style, radius: radius_m }).addTo(sketch);
        finish({ kind, centre: [points[0].lng, points[0].lat], radius_m });
        return;
      }
      const first = points[0];
      const closing =
        points.length >= 3 && this.map.latLngToContainerPoint(first).distanceTo(event.containerPoint) < 8;
      const last = points[points.length - 1];
      // A double click's two clicks (or a shaky one) add one vertex, not two at the same place.
      if (last && this.map.latLngToContainerPoint(last).distanceTo(event.containerPoint) < 4) return;
      if (!closing) {
        points.push(at);
        L.circleMarker(at, { ...style, radius: 3 }).addTo(sketch);
        sketch.eachLayer((layer) => layer instanceof L.Polyline && sketch.removeLayer(layer));
        L.polyline(points, style).addTo(sketch);
        return;
      }
      end();
    };
    const end = () => {
      if (points.length < 3) return;
      sketch.eachLayer((layer) => layer instanceof L.Polyline && sketch.removeLayer(layer));
      L.polygon(points, style).addTo(sketch);
      const ring = points.map((p) => [p.lng, p.lat]);
      finish({ kind, ring: [...ring, ring[0]] });
    };
    const dblclick = (event) => {
      L.DomEvent.stop(event);
      end();
    };
    this.map.doubleClickZoom.disable();
    this.map.getContainer().classList.add("drawing");
    this.map.on("click", click);
    this.map.on("dblclick", dblclick);
    this.drawing = { sketch, click, dblclick };
  }

  /** Stop drawing; the last shape drawn stays shown unless `keep` is false (the default clears it). */
  stopDrawing(keep = false) {
    if (this.drawing) {
      const { sketch, click, dblclick } = this.drawing;
      this.map.off("click", click);
      this.map.off("dblclick", dblclick);
      this.map.removeLayer(sketch);
      this.map.getContainer().classList.remove("drawing");
      this.map.doubleClickZoom.enable();
      this.drawing = null;
    }
    if (!keep && this.drawn) {
      this.map.removeLayer(this.drawn);
      this.drawn = null;
    }
  }

  /** Show only the volumes and conflict regions active at `ms` (all of them when `ms` is null). */
  setTime(ms) {
    this.timeMs = ms;
    this.applyTime();
  }

  applyTime() {
    const show = (areas, group) => {
      for (const v of areas) {
        if (activeAt(v.startMs, v.endMs, this.timeMs)) group.addLayer(v.layer);
        else group.removeLayer(v.layer);
      }
    };
    show(this.volumes, this.layers.plans);
    show(this.conflictAreas, this.layers.conflicts);
  }

  timeRange() {
    if (!this.volumes.length) return null;
    return [Math.min(...this.volumes.map((v) => v.startMs)), Math.max(...this.volumes.map((v) => v.endMs))];
  }

  /** Fit the map to the party's plans and aircraft (the legend and time bar stay clear of them). */
  fitOwn() {
    const bounds = L.latLngBounds([]);
    if (this.planBounds) bounds.extend(this.planBounds);
    if (this.trackBounds) bounds.extend(this.trackBounds);
    if (!bounds.isValid()) return;
    this.map.fitBounds(bounds, { paddingTopLeft: [40, 40], paddingBottomRight: [40, 70], maxZoom: 10 });
  }

  setConflicts(conflicts) {
    this.layers.conflicts.clearLayers();
    this.conflictAreas = [];
    for (const c of conflicts) {
      const [lon0, lat0, lon1, lat1] = c.overlap_bbox;
      const layer = L.rectangle(
        [
          [lat0, lon0],
          [lat1, lon1],
        ],
        { color: COLOURS.conflict, weight: 2, dashArray: "6 4", fillColor: COLOURS.conflict, fillOpacity: 0.22 },
      ).bindTooltip(
        `<b>#${c.id}</b> ${escapeHtml(c.operation)} ${t("vs")} ${escapeHtml(c.other_party)} · ${escapeHtml(t("conflict_" + c.state))}<br>` +
          `${formatWindow(parseTime(c.time_start), parseTime(c.time_end))}<br>` +
          `${escapeHtml(formatAltitudeBand(c.altitude_lower_m, c.altitude_upper_m, c.altitude_reference))}`,
        { sticky: true },
      );
      this.conflictAreas.push({ layer, startMs: parseTime(c.time_start), endMs: parseTime(c.time_end) });
    }
    this.applyTime();
  }

  /**
   * Draw a blind session's matched cells (from `parseBlindResult`), or none (`null`), and fit
   * the map to them. Drawn from the party's own file only: nothing of it goes to the server.
   */
  setBlindCells(cells) {
    this.layers.blind.clearLayers();
    if (!cells || cells.length === 0) return;
    const bounds = L.latLngBounds([]);
    for (const cell of cells) {
      const [lon0, lon1] = cell.lonDeg;
      const [lat0, lat1] = cell.latDeg;
      const rectangle = L.rectangle(
        [
          [lat0, lon0],
          [lat1, lon1],
        ],
        { color: COLOURS.blind, weight: 1.5, fillColor: COLOURS.blind, fillOpacity: 0.25, className: "blind-cell" },
      );
      // Written when shown: in the page's language and units of that moment (the file is not read again).
      rectangle
        .bindTooltip(
          () =>
            `<b>${escapeHtml(t("blind_cell"))}</b><br>` +
            `${formatWindow(cell.startMs, cell.endMs)}<br>` +
            `${escapeHtml(formatAltitudeBand(cell.altMslM[0], cell.altMslM[1], "MSL"))}<br>` +
            `${escapeHtml(t("blind_volumes"))}: ${escapeHtml(cell.volumes.join(", "))}`,
          { sticky: true },
        )
        .addTo(this.layers.blind);
      bounds.extend(rectangle.getBounds());
    }
    this.map.fitBounds(bounds, { padding: [60, 60], maxZoom: 11 });
  }

  focusBbox(bbox) {
    const [lon0, lat0, lon1, lat1] = bbox;
    this.map.fitBounds(
      [
        [lat0, lon0],
        [lat1, lon1],
      ],
      { padding: [60, 60], maxZoom: 11 },
    );
  }

  focusPoint(lon, lat) {
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), 9));
  }

  /**
   * The live picture as GET /v1/tracks/columns (or a `tracks` frame) gives it: the own aircraft
   * on the fleet's canvas, the foreign ones in alert as markers coloured by the alert's level.
   */
  setTracks(tracks, levelByRef) {
    this.layers.tracks.clearLayers();
    this.fleet.update(tracks ? tracks.own : null);
    this.moveSelectedRing();
    const foreign = tracks?.foreign ?? [];
    const bounds = L.latLngBounds([]);
    if (this.fleet.bounds) bounds.extend(this.fleet.bounds);
    for (const other of foreign) bounds.extend([other.lat_deg, other.lon_deg]);
    this.trackBounds = bounds.isValid() ? bounds : null;
    if (!this.tracksFitted && this.trackBounds) {
      this.tracksFitted = true; // once, when the first aircraft are known; then the operator's view is kept
      this.fitOwn();
    }
    for (const other of foreign) {
      const level = levelByRef.get(other.ref) ?? "loss";
      L.marker([other.lat_deg, other.lon_deg], {
        icon: diamondIcon(COLOURS[level], other.party.toUpperCase()),
        keyboard: false,
      })
        .bindTooltip(
          `<b>${escapeHtml(other.party)}</b> · ${escapeHtml(t(level === "loss" ? "loss_short" : level))}<br>${escapeHtml(formatAltitude(other.alt_m))} · ${escapeHtml(formatSpeed(other.gs_mps))}`,
        )
        .addTo(this.layers.tracks);
    }
  }

  /** Trails of own aircraft (GET /v1/tracks' "own", each with its trail); null: none. */
  setTrails(own) {
    this.layers.trails.clearLayers();
    for (const track of own ?? []) {
      const trail = (track.trail ?? []).map((p) => [p[1], p[0]]);
      if (trail.length > 1) {
        L.polyline(trail, { color: COLOURS.own, weight: 2, opacity: 0.6, dashArray: "2 4", interactive: false }).addTo(
          this.layers.trails,
        );
      }
    }
  }

  /**
   * The selected own aircraft (GET /v1/tracks/own/{id}): its trail, and a ring around it that
   * follows it (a marker of its own: selecting never waits for the fleet's canvas); null: none.
   */
  setSelected(track) {
    this.layers.selected.clearLayers();
    this.selectedRing = null;
    this.fleet.select(track ? track.id : null);
    if (!track) return;
    const trail = (track.trail ?? []).map((p) => [p[1], p[0]]);
    if (trail.length > 1) {
      L.polyline(trail, { color: COLOURS.selected, weight: 2, opacity: 0.9, interactive: false }).addTo(
        this.layers.selected,
      );
    }
    this.selectedRing = L.circleMarker([0, 0], {
      pane: "markerPane",
      radius: 11,
      color: COLOURS.selected,
      weight: 2,
      fill: false,
      interactive: false,
    });
    this.moveSelectedRing();
  }

  moveSelectedRing() {
    const ring = this.selectedRing;
    if (!ring) return;
    const row = this.fleet.row(this.fleet.selectedId);
    if (!row) {
      ring.remove();
      return;
    }
    ring.setLatLng([row.lat_deg, row.lon_deg]);
    if (!this.layers.selected.hasLayer(ring)) ring.addTo(this.layers.selected);
  }

  /**
   * A line between the two aircraft of each alert, labelled with the time to loss of separation;
   * a dashed ring labelled "off plan" around the aircraft of each non-conformance alert.
   */
  setAlerts(alerts) {
    this.layers.alerts.clearLayers();
    this.fleet.setAlerted(alerts.map((a) => a.own_id).filter((id) => id));
    const order = { loss: 0, warning: 1, advisory: 2 };
    const urgent = [...alerts]
      .sort((a, b) => (order[a.level] ?? 3) - (order[b.level] ?? 3) || (a.time_to_loss_s ?? 0) - (b.time_to_loss_s ?? 0))
      .slice(0, ALERT_LABELS_MAX);
    const labelled = new Set(urgent.map((a) => a.id));
    for (const a of alerts) {
      if (a.kind === "non_conformance") {
        const where = a.own ?? a.other;
        if (!where) continue;
        const ring = L.circleMarker([where[1], where[0]], {
          radius: 14,
          color: COLOURS[a.level] ?? COLOURS.warning,
          weight: 3,
          dashArray: "4 4",
          fill: false,
          renderer: this.alertRenderer,
          interactive: false,
          className: "non-conformance",
        });
        if (labelled.has(a.id)) {
          ring.bindTooltip(t("off_plan"), {
            permanent: true,
            direction: "left", // the data block is on the right
            offset: [-16, 0],
            className: `alert-label non-conformance level-${a.level}`,
          });
        }
        ring.addTo(this.layers.alerts);
        continue;
      }
      if (!a.own || !a.other) continue;
      const colour = COLOURS[a.level] ?? COLOURS.loss;
      const line = L.polyline(
        [
          [a.own[1], a.own[0]],
          [a.other[1], a.other[0]],
        ],
        {
          color: colour,
          weight: a.level === "advisory" ? 2 : 4,
          dashArray: a.level === "loss" ? null : "8 6",
          renderer: this.alertRenderer,
          interactive: false,
        },
      );
      if (labelled.has(a.id)) {
        const label = a.level === "loss" ? t("legend_loss") : `${formatDuration(a.time_to_loss_s)} ${t("los_in")}`;
        line.bindTooltip(label, {
          permanent: true,
          direction: "top",
          offset: [0, -18],
          className: `alert-label level-${a.level}`,
        });
      }
      line.addTo(this.layers.alerts);
    }
  }

  /** `nameOf(id)`: an own aircraft's name (see Fleet.nameOf). */
  setIncidents(incidents, nameOf = (id) => id) {
    this.layers.incidents.clearLayers();
    for (const i of incidents) {
      const c = i.closest;
      if (!c) continue;
      L.marker([c.lat_deg, c.lon_deg], { icon: incidentIcon(), keyboard: false })
        .bindTooltip(
          `<b>${t("incidents")} #${i.id}</b> ${escapeHtml(nameOf(i.own_id))} ${t("vs")} ${escapeHtml(i.other_party)}<br>` +
            `${t("closest")}: ${formatDistance(c.distance_m)} / ${formatHeight(c.vertical_m)} · ${formatTime(parseTime(c.time), { seconds: true })}`,
        )
        .addTo(this.layers.incidents);
    }
  }
}
