// Where the map is: a lat/lon graticule, a scale bar (km and NM), the cursor's position (decimal,
// DMS, MGRS), place names decluttered by zoom, and the deployment's overlays (GET /v1/map/overlays).
// Everything from the server's own files: the page needs no internet.
/* global L */

import { escapeHtml } from "./format.js";
import { t } from "./i18n.js";

// Loaded when the map is made: without ui/vendor/ (make not run) the page still loads and says so.
let toMgrs = null;

/** Graticule spacings, degrees, coarse to fine (30° to 1'). */
const GRATICULE_STEPS_DEG = [30, 20, 10, 5, 2, 1, 0.5, 0.25, 1 / 6, 1 / 12, 1 / 30, 1 / 60];
/** At least this many graticule lines across the narrower side of the view. */
const GRATICULE_LINES_MIN = 3;
/** Place labels drawn at once at most: beyond, the map is a wall of names. */
const PLACES_MAX = 150;
const PLACE_FONT = "11px sans-serif";
const CAPITAL_FONT = "bold 12px sans-serif";
/** What else floats over the map (controls, panels, other layers' labels): place labels keep clear of it. */
const OVER_MAP = ".leaflet-control, .legend, .blindbar, .map-note, .aircraft-details, .leaflet-tooltip";

/** How each kind of overlay feature is drawn unless its file says otherwise. */
export const OVERLAY_STYLES = {
  line: { color: "#ffd23f", weight: 3, dashArray: "10 6", fillOpacity: 0 },
  airway: { color: "#8fd3ff", weight: 2, dashArray: "2 5", fillOpacity: 0 },
  restricted: { color: "#ff6b6b", weight: 2, dashArray: "6 3", fillOpacity: 0.12 },
  fir: { color: "#b8b8ff", weight: 2, dashArray: "12 4 2 4", fillOpacity: 0 },
};

// ---------------------------------------------------------------- coordinates

/** `lat, lon` in decimal degrees, 5 decimals (about 1 m). */
export function formatDecimal(latDeg, lonDeg) {
  return `${latDeg.toFixed(5)}, ${lonDeg.toFixed(5)}`;
}

function dms(value, width, positive, negative) {
  const tenths = Math.round(Math.abs(value) * 36000); // tenths of a second
  const d = Math.floor(tenths / 36000);
  const m = Math.floor((tenths % 36000) / 600);
  const s = (tenths % 600) / 10;
  const hemisphere = value < 0 ? negative : positive;
  return `${String(d).padStart(width, "0")}°${String(m).padStart(2, "0")}′${s.toFixed(1).padStart(4, "0")}″${hemisphere}`;
}

/** Degrees, minutes and seconds (to 0.1″), e.g. 35°07′24.4″N 038°32′35.6″E. */
export function formatDms(latDeg, lonDeg) {
  return `${dms(latDeg, 2, "N", "S")} ${dms(lonDeg, 3, "E", "W")}`;
}

/** MGRS to 1 m, grouped (zone and band, 100 km square, easting, northing); null outside 80°S–84°N. */
export function formatMgrs(latDeg, lonDeg) {
  let text;
  try {
    if (!toMgrs) return null;
    text = toMgrs([lonDeg, latDeg], 5);
  } catch {
    return null; // the polar regions have UPS, not MGRS
  }
  const m = /^(\d{1,2}[A-Z])([A-Z]{2})(\d{5})(\d{5})$/.exec(text);
  return m ? `${m[1]} ${m[2]} ${m[3]} ${m[4]}` : text;
}

/** A graticule line's label: 35°N, 35°30′N, 38°E, 38°05′E. */
function formatGraticule(value, stepDeg, positive, negative) {
  const minutes = Math.round(Math.abs(value) * 60);
  const d = Math.floor(minutes / 60);
  const m = minutes % 60;
  const hemisphere = value === 0 ? "" : value < 0 ? negative : positive;
  return stepDeg < 1 ? `${d}°${String(m).padStart(2, "0")}′${hemisphere}` : `${d}°${hemisphere}`;
}

function wrapLon(lonDeg) {
  return ((((lonDeg + 180) % 360) + 360) % 360) - 180;
}

// ---------------------------------------------------------------- controls

// Leaflet's classes are extended once Leaflet is there (ui/vendor/leaflet.js; see GeoContext).
let Scale = null;
let CursorPosition = null;
let Labels = null;

function defineControls() {
  if (Scale) return;
  /** Leaflet's scale bar, in km and NM (the aviation unit) with the page's language. */
  Scale = L.Control.Scale.extend({
    options: { metric: true, imperial: false, maxWidth: 120 },
    _addScales(options, className, container) {
      this._mScale = L.DomUtil.create("div", className, container);
      this._nScale = L.DomUtil.create("div", `${className} nautical`, container);
    },
    _updateScales(maxMeters) {
      const metres = this._getRoundNum(maxMeters);
      const metric = metres < 1000 ? `${metres} <span data-i18n="u_m">${t("u_m")}</span>` : `${metres / 1000} <span data-i18n="u_km">${t("u_km")}</span>`;
      this._updateScale(this._mScale, metric, metres / maxMeters);
      const maxNm = maxMeters / 1852;
      const nm = maxNm >= 1 ? this._getRoundNum(maxNm) : [0.5, 0.2, 0.1].find((n) => n <= maxNm) ?? 0.1;
      this._updateScale(this._nScale, `${nm} <span data-i18n="u_nm">${t("u_nm")}</span>`, nm / maxNm);
    },
  });

  /** The cursor's position in three notations; the last position stays when the cursor leaves. */
  CursorPosition = L.Control.extend({
    options: { position: "bottomright" },
    onAdd(map) {
      const box = L.DomUtil.create("div", "cursor-position");
      box.id = "cursor-position";
      box.innerHTML =
        `<div><span data-i18n="geo_cursor">${escapeHtml(t("geo_cursor"))}</span></div>` +
        `<div class="decimal">—</div><div class="dms"></div><div class="mgrs"></div>`;
      L.DomEvent.disableClickPropagation(box);
      this._box = box;
      this._move = (event) => this.show(event.latlng);
      map.on("mousemove", this._move);
      return box;
    },
    onRemove(map) {
      map.off("mousemove", this._move);
    },
    show(latlng) {
      const lat = latlng.lat;
      const lon = wrapLon(latlng.lng);
      this._box.dataset.lat = String(lat);
      this._box.dataset.lon = String(lon);
      this._box.querySelector(".decimal").textContent = formatDecimal(lat, lon);
      this._box.querySelector(".dms").textContent = formatDms(lat, lon);
      const mgrs = formatMgrs(lat, lon);
      this._box.querySelector(".mgrs").textContent = mgrs === null ? "" : `MGRS ${mgrs}`;
    },
  });

  /**
   * Text pinned to places, as one element of positioned children in a pane: no marker per label
   * (hundreds would be hundreds of Leaflet markers). Hidden while a zoom animates; redrawn by
   * its owner after each move with `set`.
   */
  Labels = L.Layer.extend({
    initialize(pane) {
      L.setOptions(this, { pane });
      this.items = []; // {latDeg, lonDeg, className, html}
    },
    onAdd() {
      this.box = L.DomUtil.create("div", "geo-labels leaflet-zoom-hide", this.getPane());
      this.draw();
    },
    onRemove() {
      L.DomUtil.remove(this.box);
      this.box = null;
    },
    set(items) {
      this.items = items;
      this.draw();
    },
    draw() {
      if (!this.box || !this._map) return;
      this.box.innerHTML = this.items
        .map((item) => {
          const at = this._map.latLngToLayerPoint([item.latDeg, item.lonDeg]);
          return `<div class="${item.className}" style="transform: translate(${Math.round(at.x)}px, ${Math.round(at.y)}px)">${item.html}</div>`;
        })
        .join("");
    },
  });
}

// ---------------------------------------------------------------- the context

export class GeoContext {
  /** Graticule, scale, cursor position and place names on `map` at once; overlays once loaded. */
  constructor(map) {
    defineControls();
    import("./vendor/mgrs.esm.js")
      .then((mgrs) => (toMgrs = mgrs.forward))
      .catch(() => {}); // the page's banner names the missing file
    this.map = map;
    for (const [name, z] of [["geo-graticule", 310], ["geo-overlays", 350], ["geo-labels", 405]]) {
      map.createPane(name).classList.add(`${name}-pane`);
      map.getPane(name).style.zIndex = String(z);
    }
    this.graticuleLines = L.layerGroup();
    this.graticuleLabels = new Labels("geo-labels");
    this.graticule = L.layerGroup([this.graticuleLines, this.graticuleLabels]).addTo(map);
    this.placeLabels = new Labels("geo-labels");
    this.places = L.layerGroup([this.placeLabels]).addTo(map);
    this.placeRows = [];
    this.overlays = []; // [{name, layer}]
    this.measure = document.createElement("canvas").getContext("2d");
    new Scale({ position: "bottomright" }).addTo(map);
    this.cursor = new CursorPosition().addTo(map);
    this.layersControl = null;
    this.showLayersControl();
    const redraw = () => {
      if (map.hasLayer(this.graticule)) this.drawGraticule();
      if (map.hasLayer(this.places)) this.drawPlaces();
    };
    map.on("moveend zoomend resize", redraw);
    map.on("overlayadd overlayremove", redraw); // a layer's labels come or go: place names move around them
    map.whenReady(redraw);
  }

  /** The layer switch (top left, under the zoom): graticule, place names, each overlay file. */
  showLayersControl() {
    if (this.layersControl) this.layersControl.remove();
    const label = (key) => `<span data-i18n="${key}">${escapeHtml(t(key))}</span>`;
    const layers = { [label("geo_graticule")]: this.graticule, [label("geo_places")]: this.places };
    for (const overlay of this.overlays) {
      layers[`<span class="overlay-name">${escapeHtml(overlay.name)}</span>`] = overlay.layer;
    }
    this.layersControl = L.control.layers(null, layers, { collapsed: false, position: "topleft" }).addTo(this.map);
    this.layersControl.getContainer().id = "map-layers";
    this.layersControl.getContainer().setAttribute("aria-label", t("geo_layers"));
    this.layersControl.getContainer().dataset.i18nLabel = "geo_layers"; // relabelled with the language
  }

  drawGraticule() {
    this.graticuleLines.clearLayers();
    const bounds = this.map.getBounds();
    const south = Math.max(bounds.getSouth(), -85);
    const north = Math.min(bounds.getNorth(), 85);
    const span = Math.min(north - south, bounds.getEast() - bounds.getWest());
    const step = GRATICULE_STEPS_DEG.find((s) => span / s >= GRATICULE_LINES_MIN) ?? GRATICULE_STEPS_DEG.at(-1);
    const style = { color: "#3d5166", weight: 0.8, interactive: false, pane: "geo-graticule", className: "graticule" };
    const lines = [];
    const labels = [];
    const west = Math.floor(bounds.getWest() / step) * step;
    for (let i = 0, lon = west; lon <= bounds.getEast() && i < 200; i += 1, lon = west + i * step) {
      lines.push([[south, lon], [north, lon]]);
      labels.push([north, lon, formatGraticule(wrapLon(lon), step, "E", "W"), "meridian"]);
    }
    const first = Math.ceil(south / step) * step;
    for (let i = 0, lat = first; lat <= north && i < 200; i += 1, lat = first + i * step) {
      lines.push([[lat, bounds.getWest()], [lat, bounds.getEast()]]);
      labels.push([lat, bounds.getWest(), formatGraticule(lat, step, "N", "S"), "parallel"]);
    }
    L.polyline(lines, style).addTo(this.graticuleLines);
    this.graticuleLabels.set(
      labels.map(([latDeg, lonDeg, text, kind]) => ({ latDeg, lonDeg, className: `graticule-label ${kind}`, html: escapeHtml(text) })),
    );
  }

  /** The place names (ui/vendor/places.json, most important first), drawn from then on. */
  async loadPlaces(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`places: ${response.status}`);
    const document = await response.json();
    this.placeRows = document.places;
    this.drawPlaces();
  }

  /** Labels by zoom (capitals first, then larger towns), none over another nor under a control. */
  drawPlaces() {
    const map = this.map;
    const zoom = map.getZoom();
    const size = map.getSize();
    const bounds = map.getBounds();
    const origin = map.getContainer().getBoundingClientRect();
    const taken = [];
    for (const element of map.getContainer().parentElement.querySelectorAll(OVER_MAP)) {
      if (element.offsetParent === null || element.closest("[hidden]")) continue; // not shown
      const r = element.getBoundingClientRect();
      taken.push({ x0: r.left - origin.left, y0: r.top - origin.top, x1: r.right - origin.left, y1: r.bottom - origin.top });
    }
    const clear = (box) => !taken.some((b) => box.x0 < b.x1 && b.x0 < box.x1 && box.y0 < b.y1 && b.y0 < box.y1);
    const drawn = [];
    for (const [lonDeg, latDeg, population, rank, name] of this.placeRows) {
      if (drawn.length >= PLACES_MAX) break;
      if (minZoom(population, rank) > zoom || latDeg < bounds.getSouth() || latDeg > bounds.getNorth()) continue;
      // The world repeats sideways: the copy of the place in view, if any.
      const lon = lonDeg + 360 * Math.round((bounds.getCenter().lng - lonDeg) / 360);
      if (lon < bounds.getWest() || lon > bounds.getEast()) continue;
      const at = map.latLngToContainerPoint([latDeg, lon]);
      this.measure.font = rank === 2 ? CAPITAL_FONT : PLACE_FONT;
      const width = this.measure.measureText(name).width;
      const box = { x0: at.x - 4, y0: at.y - 9, x1: at.x + 8 + width, y1: at.y + 9 };
      if (box.x0 < 0 || box.y0 < 0 || box.x1 > size.x || box.y1 > size.y || !clear(box)) continue;
      taken.push(box);
      drawn.push({
        latDeg,
        lonDeg: lon,
        className: `place-label${rank === 2 ? " capital" : ""}`,
        html: `<i></i><span>${escapeHtml(name)}</span>`,
      });
    }
    this.placeLabels.set(drawn);
  }

  /** The deployment's overlays (GET /v1/map/overlays), each file a layer of the layer switch. */
  async loadOverlays(api) {
    const body = await api.get("/v1/map/overlays");
    this.clearOverlays();
    for (const overlay of body.overlays) {
      const layer = L.geoJSON(overlay, {
        pane: "geo-overlays",
        style: (feature) => overlayStyle(feature.properties),
        pointToLayer: (feature, latlng) => L.circleMarker(latlng, { radius: 5, pane: "geo-overlays" }),
        onEachFeature: (feature, part) => {
          const p = feature.properties;
          part.bindTooltip(escapeHtml(p.name), {
            permanent: true,
            direction: "center",
            className: `overlay-label kind-${p.kind}`,
          });
          part.on("mouseover", () => part.getTooltip()?.setContent(`${escapeHtml(p.name)} · ${escapeHtml(t(`overlay_${p.kind}`))}`));
          part.on("mouseout", () => part.getTooltip()?.setContent(escapeHtml(p.name)));
        },
      }).addTo(this.map);
      this.overlays.push({ name: overlay.name, layer });
    }
    this.showLayersControl();
    if (this.map.hasLayer(this.places)) this.drawPlaces(); // clear of the overlays' labels
  }

  clearOverlays() {
    for (const overlay of this.overlays) overlay.layer.remove();
    this.overlays = [];
    this.showLayersControl();
  }
}

/** The zoom from which a place is named: capitals from the world view, towns as they grow. */
function minZoom(population, rank) {
  if (rank === 2) return 3;
  if (population >= 5e6) return 4;
  if (population >= 1e6) return 5;
  if (population >= 3e5) return 6;
  if (rank === 1 || population >= 1e5) return 7;
  return 8;
}

function overlayStyle(properties) {
  const base = OVERLAY_STYLES[properties.kind] ?? OVERLAY_STYLES.line;
  const s = properties.style ?? {};
  const colour = s.colour ?? base.color;
  return {
    color: colour,
    weight: s.weight_px ?? base.weight,
    dashArray: s.dash ?? base.dashArray,
    fillColor: colour,
    fillOpacity: s.fill_opacity ?? base.fillOpacity,
    className: `overlay overlay-${properties.kind}`,
  };
}
