// Small formatting helpers: UTC times, durations, distances, safe HTML.

export function escapeHtml(value) {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Tagged template that escapes every interpolated value (use raw() to pass trusted HTML). */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    const text = Array.isArray(value)
      ? value.map((v) => (v instanceof Raw ? v.text : escapeHtml(v))).join("")
      : value instanceof Raw
        ? value.text
        : escapeHtml(value);
    out += text + strings[i + 1];
  });
  return new Raw(out);
}

class Raw {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

export function raw(text) {
  return new Raw(text);
}

export function parseTime(rfc3339) {
  return rfc3339 ? Date.parse(rfc3339) : NaN;
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-11-26 05:40Z", or "05:40:12Z" with `short`. */
export function formatUtc(ms, { short = false, seconds = false } = {}) {
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? ":" + pad(d.getUTCSeconds()) : ""}Z`;
  if (short) return hm;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hm}`;
}

/** "1:05", "12:03:09" (hours when needed); negative durations use their absolute value. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Math.abs(seconds)));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}:${pad(m)}:${pad(sec)}`;
  return `${m}:${pad(sec)}`;
}

export function formatDistance(metres) {
  if (!Number.isFinite(metres)) return "—";
  if (Math.abs(metres) >= 1000) return `${(metres / 1000).toFixed(1)} km`;
  return `${Math.round(metres)} m`;
}

export function formatAltitude(metres) {
  if (!Number.isFinite(metres)) return "—";
  return `${Math.round(metres)} m (FL${String(Math.round(metres / 0.3048 / 100)).padStart(3, "0")})`;
}

/** The altitude of a GeoJSON volume bound ({value, units, reference}) as text. */
export function formatBound(bound) {
  if (!bound) return "—";
  if (bound.units === "FL") return `FL${String(bound.value).padStart(3, "0")}`;
  const value = Number(bound.value);
  return `${Number.isInteger(value) ? value : value.toFixed(0)} ${bound.units}${bound.reference ? " " + bound.reference : ""}`;
}

const FT_PER_M = 1 / 0.3048;
const KT_PER_MPS = 3600 / 1852;
/** A vertical speed past this (about 100 ft/min) is a climb or a descent in a data block. */
const LEVEL_VS_MPS = 0.5;

/**
 * A radar-style data block of an aircraft ({id, callsign, alt_m, gs_mps, vs_mps}): its name
 * (the callsign where known, else its id) and "FL350↑ 452kt" (flight level, climb or descent
 * arrow, ground speed in knots).
 */
export function dataBlock(a) {
  const fl = String(Math.max(0, Math.round((a.alt_m * FT_PER_M) / 100))).padStart(3, "0");
  const arrow = a.vs_mps > LEVEL_VS_MPS ? "↑" : a.vs_mps < -LEVEL_VS_MPS ? "↓" : " ";
  return { name: a.callsign || a.id, level: `FL${fl}${arrow} ${Math.round(a.gs_mps * KT_PER_MPS)}kt` };
}
