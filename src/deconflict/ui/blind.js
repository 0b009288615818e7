// A blind session's result on the map: the file `deconflict blind start|join --out FILE` wrote,
// read from the operator's own disk. It stays in the page: nothing of it is sent to the server.

import { t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);

function pair(value, name, index) {
  if (!Array.isArray(value) || value.length !== 2 || !value.every(Number.isFinite) || value[0] > value[1]) {
    throw new Error(t("blind_bad_feature", { index, name }));
  }
  return value;
}

/**
 * The matched cells of a blind result GeoJSON text: [{lonDeg, latDeg, startMs, endMs, altMslM,
 * volumes}], one per feature. Throws an Error saying which feature and property is wrong.
 */
export function parseBlindResult(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(t("blind_not_json"));
  }
  if (doc?.type !== "FeatureCollection" || !Array.isArray(doc.features)) throw new Error(t("blind_not_result"));
  const cells = doc.features.map((feature, index) => {
    const p = feature?.properties ?? {};
    const time = pair(p.time_s, "time_s", index);
    return {
      lonDeg: pair(p.lon_deg, "lon_deg", index),
      latDeg: pair(p.lat_deg, "lat_deg", index),
      startMs: time[0] * 1000,
      endMs: time[1] * 1000,
      altMslM: pair(p.alt_msl_m, "alt_msl_m", index),
      volumes: Array.isArray(p.volumes) ? p.volumes.map(String) : [],
    };
  });
  return { session: String(doc.deconflict_blind?.session ?? ""), cells };
}

function show(status, loaded) {
  $("#blind-state").textContent = status;
  $("#blind-clear").hidden = !loaded;
  $("#blind-swatch").hidden = !loaded;
}

/** Wire the "Show blind session result…" control to `getMap()` (a MapView or null). */
export function setupBlindResult(getMap) {
  $("#blind-file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      try {
        const result = parseBlindResult(String(reader.result));
        getMap()?.setBlindCells(result.cells);
        show(t("blind_shown", { n: result.cells.length, session: result.session || file.name }), true);
      } catch (error) {
        getMap()?.setBlindCells(null);
        show(`${file.name}: ${error.message}`, false);
      }
    };
    reader.onerror = () => show(`${file.name}: ${reader.error?.message ?? ""}`, false);
    reader.readAsText(file);
  });
  $("#blind-open").addEventListener("click", () => $("#blind-file").click());
  $("#blind-clear").addEventListener("click", () => clearBlindResult(getMap));
}

/** Remove the blind result from the map (the button, log-out). */
export function clearBlindResult(getMap) {
  getMap()?.setBlindCells(null);
  show("", false);
}
