// The one home of what the page shows of times and quantities: UTC times (dates when needed),
// durations, and altitudes, distances and speeds in the operator's units (aviation: FL and ft, kt,
// NM; or SI: m, km/h, km), kept per browser in localStorage. Safe HTML too.

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

import { t } from "./i18n.js";

const pad = (n) => String(n).padStart(2, "0");
const DAY_MS = 86_400_000;

/** The UTC day (its midnight, ms) of `ms`. */
export function utcDay(ms) {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function utcDate(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** "2026-11-26 05:40Z", or "05:40:12Z" with `short`. */
export function formatUtc(ms, { short = false, seconds = false } = {}) {
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? ":" + pad(d.getUTCSeconds()) : ""}Z`;
  if (short) return hm;
  return `${utcDate(ms)} ${hm}`;
}

/** A time as the page shows it: "05:40Z" today (UTC), "2026-11-26 05:40Z" on any other day. */
export function formatTime(ms, { seconds = false, nowMs = Date.now() } = {}) {
  return formatUtc(ms, { seconds, short: Number.isFinite(ms) && utcDay(ms) === utcDay(nowMs) });
}

/**
 * A time window: "05:40Z – 07:40Z" within today (UTC); "2026-11-26 05:40Z – 07:40Z" within another
 * day; both dates ("2026-11-26 23:00Z – 2026-11-27 01:00Z") when it crosses midnight.
 */
export function formatWindow(startMs, endMs, { seconds = false, nowMs = Date.now() } = {}) {
  if (!Number.isFinite(startMs)) return `— – ${formatTime(endMs, { seconds, nowMs })}`;
  const oneDay = Number.isFinite(endMs) && utcDay(startMs) === utcDay(endMs - 1);
  if (!oneDay) return `${formatUtc(startMs, { seconds })} – ${formatUtc(endMs, { seconds })}`;
  return `${formatTime(startMs, { seconds, nowMs })} – ${formatUtc(endMs, { seconds, short: true })}`;
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

// ---------------------------------------------------------------- units

/** The unit systems the operator chooses from: aviation (FL and ft, kt, NM) or SI (m, km/h, km). */
export const UNIT_SYSTEMS = ["aviation", "si"];
const UNITS_KEY = "deconflict.units";
const M_PER_FT = 0.3048;
const M_PER_NM = 1852;
const KMH_PER_MPS = 3.6;
const KT_PER_MPS = 3600 / M_PER_NM;

function storedUnits() {
  try {
    const stored = globalThis.localStorage?.getItem(UNITS_KEY);
    return UNIT_SYSTEMS.includes(stored) ? stored : "aviation";
  } catch {
    return "aviation"; // storage refused (a private window's policy): the default
  }
}

let units = storedUnits();

/** The unit system in use: "aviation" (the default) or "si". */
export function unitSystem() {
  return units;
}

/** Use `system` from now on and keep it for this browser; an unknown one is the default. */
export function setUnitSystem(system) {
  units = UNIT_SYSTEMS.includes(system) ? system : "aviation";
  try {
    globalThis.localStorage?.setItem(UNITS_KEY, units);
  } catch {
    // kept for this page only
  }
}

const si = () => units === "si";
/** A unit's symbol in the page's language ("ft", "фт"). */
const u = (unit) => t(`u_${unit}`);

/** A flight level ("FL350", three digits at least) of an altitude in metres. */
export function flightLevel(metres) {
  return `FL${String(Math.max(0, Math.round(metres / M_PER_FT / 100))).padStart(3, "0")}`;
}

/**
 * An altitude in metres: "10000 ft (FL100)" or "3048 m"; with `reference` ("MSL", "AGL", "W84")
 * it follows the figure ("3048 m MSL").
 */
export function formatAltitude(metres, reference = "") {
  if (!Number.isFinite(metres)) return "—";
  const ref = reference ? ` ${reference}` : "";
  if (si()) return `${Math.round(metres)} ${u("m")}${ref}`;
  return `${Math.round(metres / M_PER_FT)} ${u("ft")}${ref} (${flightLevel(metres)})`;
}

/**
 * An altitude band in metres: "FL010–FL100 (1000–10000 ft MSL)" or "305–3048 m MSL".
 */
export function formatAltitudeBand(lowerM, upperM, reference = "") {
  const ref = reference ? ` ${reference}` : "";
  if (si()) return `${Math.round(lowerM)}–${Math.round(upperM)} ${u("m")}${ref}`;
  const ft = (m) => Math.round(m / M_PER_FT);
  return `${flightLevel(lowerM)}–${flightLevel(upperM)} (${ft(lowerM)}–${ft(upperM)} ${u("ft")}${ref})`;
}

/** A vertical distance in metres: "500 ft" or "152 m". */
export function formatHeight(metres) {
  if (!Number.isFinite(metres)) return "—";
  return si() ? `${Math.round(metres)} ${u("m")}` : `${Math.round(metres / M_PER_FT)} ${u("ft")}`;
}

/** A horizontal distance in metres: "2.7 NM" ("0.45 NM" under one) or "5.0 km" / "830 m". */
export function formatDistance(metres) {
  if (!Number.isFinite(metres)) return "—";
  if (si()) {
    if (Math.abs(metres) >= 1000) return `${(metres / 1000).toFixed(1)} ${u("km")}`;
    return `${Math.round(metres)} ${u("m")}`;
  }
  const nm = metres / M_PER_NM;
  return `${Math.abs(nm) >= 1 ? nm.toFixed(1) : nm.toFixed(2)} ${u("nm")}`;
}

/** An area in square metres: "12.3 NM²" or "42.0 km²". */
export function formatArea(squareMetres) {
  if (!Number.isFinite(squareMetres)) return "—";
  return si()
    ? `${(squareMetres / 1e6).toFixed(1)} ${u("km")}²`
    : `${(squareMetres / M_PER_NM ** 2).toFixed(1)} ${u("nm")}²`;
}

/** A ground speed in m/s: "452 kt" or "837 km/h". */
export function formatSpeed(mps) {
  if (!Number.isFinite(mps)) return "—";
  return si() ? `${Math.round(mps * KMH_PER_MPS)} ${u("kmh")}` : `${Math.round(mps * KT_PER_MPS)} ${u("kt")}`;
}

/** A vertical speed in m/s: "-1500 ft/min" (to tens) or "-7.6 m/s". */
export function formatVerticalSpeed(mps) {
  if (!Number.isFinite(mps)) return "—";
  if (si()) return `${mps.toFixed(1)} ${u("mps")}`;
  return `${Math.round((mps * 60) / M_PER_FT / 10) * 10} ${u("fpm")}`;
}

/** Metres of a GeoJSON volume bound ({value, units: "m" | "ft" | "FL"}). */
function boundMetres(bound) {
  const value = Number(bound.value);
  if (bound.units === "FL") return value * 100 * M_PER_FT;
  return bound.units === "ft" ? value * M_PER_FT : value;
}

/**
 * The altitude of a GeoJSON volume bound ({value, units, reference}) as text: a flight level stays
 * one ("FL100", with its metres in SI: "FL100 (3048 m)"); feet and metres in the operator's units.
 */
export function formatBound(bound) {
  if (!bound) return "—";
  const metres = boundMetres(bound);
  if (bound.units === "FL") {
    const fl = `FL${String(bound.value).padStart(3, "0")}`;
    return si() ? `${fl} (${Math.round(metres)} ${u("m")})` : fl;
  }
  const ref = bound.reference ? ` ${bound.reference}` : "";
  return si() ? `${Math.round(metres)} ${u("m")}${ref}` : `${Math.round(metres / M_PER_FT)} ${u("ft")}${ref}`;
}

/** A radar-style level of an aircraft: "FL350" or "10670m" (its altitude to tens of metres). */
function blockLevel(metres) {
  return si() ? `${Math.max(0, Math.round(metres / 10) * 10)}${u("m")}` : flightLevel(metres);
}

/** A vertical speed past this (about 100 ft/min) is a climb or a descent in a data block. */
const LEVEL_VS_MPS = 0.5;

/**
 * A radar-style data block of an aircraft ({id, callsign, alt_m, gs_mps, vs_mps}): its name
 * (the callsign where known, else its id) and "FL350↑ 452kt" (flight level, climb or descent
 * arrow, ground speed in knots), or "10670m↑ 837km/h" in SI.
 */
export function dataBlock(a) {
  const arrow = a.vs_mps > LEVEL_VS_MPS ? "↑" : a.vs_mps < -LEVEL_VS_MPS ? "↓" : " ";
  return { name: a.callsign || a.id, level: `${blockLevel(a.alt_m)}${arrow} ${formatSpeed(a.gs_mps).replace(" ", "")}` };
}

// ---------------------------------------------------------------- messages

const RFC3339 = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;
/** The unit words the catalogue's templates put after a figure, in each language. */
const UNIT_WORDS = { ft: "(?:ft|фт)", m: "(?:m|м)" };

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A message's rendered text as the page shows it: its RFC 3339 times formatted (formatTime), and
 * its parameters with units (`*_ft` altitudes, `horizontal_m`, `vertical_m`) in the operator's
 * units where the text writes them after their figure ("5000 ft", "150 м").
 */
export function formatMessageText(text, params = {}, nowMs = Date.now()) {
  let out = String(text ?? "");
  for (const [name, value] of Object.entries(params ?? {})) {
    const unit = name.endsWith("_ft") ? "ft" : name.endsWith("_m") ? "m" : null;
    if (unit === null || typeof value !== "number" || !Number.isFinite(value)) continue;
    const metres = unit === "ft" ? value * M_PER_FT : value;
    const shown = name.startsWith("horizontal") ? formatDistance(metres) : formatHeight(metres);
    const figure = new RegExp(`(^|[^\\d.])${escapeRegExp(String(value))} ${UNIT_WORDS[unit]}(?![\\p{L}])`, "u");
    out = out.replace(figure, (_, before) => `${before}${shown}`);
  }
  return out.replace(RFC3339, (time) => formatTime(Date.parse(time), { nowMs }));
}
