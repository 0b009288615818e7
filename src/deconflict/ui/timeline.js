// The timeline of the Plans panel (the planning chart): a UTC day on a time axis, each own
// operation a row of bars (one per volume, coloured by its state), the open conflicts of each
// marked on its row, "now" a line, and the map's time (the slider's) a second line, the volumes
// and conflicts not active then dimmed, as the map hides them.

import { formatUtc, formatWindow, html, parseTime, utcDay } from "./format.js";
import { t } from "./i18n.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const CHART = { width: 440, label: 72, row: 22, axis: 18 };

/** Whether a window [startMs, endMs) holds `atMs` (every window does when `atMs` is null). */
export function activeAt(startMs, endMs, atMs) {
  return atMs === null || (startMs <= atMs && atMs < endMs);
}

/**
 * The timeline: the UTC day of the map's time `atMs` (the slider's; null: "all times", the day
 * of `nowMs`), its date in the caption; a row per own operation with a volume that day.
 */
export function planningChart(operations, conflicts, nowMs, atMs = null) {
  const day0 = utcDay(atMs ?? nowMs);
  const plotW = CHART.width - CHART.label - 12;
  const x = (ms) => CHART.label + (Math.min(Math.max(ms, day0), day0 + DAY_MS) - day0) * (plotW / DAY_MS);
  const inDay = (start, end) => end > day0 && start < day0 + DAY_MS;
  const rows = operations.filter((op) =>
    op.volumes.features.some((f) => inDay(parseTime(f.properties.time_start), parseTime(f.properties.time_end))),
  );
  const height = CHART.axis + Math.max(rows.length, 1) * CHART.row + 2;
  const ticks = [0, 3, 6, 9, 12, 15, 18, 21, 24].map((h) => {
    const at = x(day0 + h * HOUR_MS);
    return html`<line class="tick" x1="${at}" x2="${at}" y1="${CHART.axis - 4}" y2="${height}"/>
      <text class="tick-label" x="${at}" y="${CHART.axis - 6}">${String(h).padStart(2, "0")}</text>`;
  });
  const off = (start, end) => (activeAt(start, end, atMs) ? "" : " off");
  const bars = rows.map((op, i) => {
    const y = CHART.axis + i * CHART.row + 3;
    const own = (conflicts ?? []).filter(
      (c) => c.operation === op.id && c.state !== "resolved" && inDay(parseTime(c.time_start), parseTime(c.time_end)),
    );
    return html`<g class="chart-row" data-id="${op.id}">
      <text class="row-label" x="2" y="${y + (CHART.row - 8) / 2}">${op.id.length > 11 ? op.id.slice(0, 10) + "…" : op.id}<title>${op.id}</title></text>
      ${op.volumes.features.map((f) => {
        const [start, end] = [parseTime(f.properties.time_start), parseTime(f.properties.time_end)];
        if (!inDay(start, end)) return "";
        return html`<rect class="bar state-${op.state}${off(start, end)}" data-volume="${f.properties.id}" x="${x(start)}" y="${y}"
          width="${Math.max(1, x(end) - x(start))}" height="${CHART.row - 8}"><title>${op.id} · ${f.properties.id} · ${t("op_" + op.state)} · ${formatWindow(start, end, { nowMs })}</title></rect>`;
      })}
      ${own.map((c) => {
        const [start, end] = [parseTime(c.time_start), parseTime(c.time_end)];
        return html`<rect class="conflict-mark${off(start, end)}" data-conflict="${c.id}" x="${x(start)}" y="${y + CHART.row - 7}"
          width="${Math.max(2, x(end) - x(start))}" height="4"><title>${t("conflicts")} #${c.id} ${t("vs")} ${c.other_party.toUpperCase()} · ${formatWindow(start, end, { nowMs })}</title></rect>`;
      })}
    </g>`;
  });
  const line = (cls, ms, title) =>
    ms >= day0 && ms <= day0 + DAY_MS
      ? html`<line class="${cls}" x1="${x(ms)}" x2="${x(ms)}" y1="${CHART.axis - 4}" y2="${height}"><title>${title}</title></line>`
      : "";
  return html`<figure class="planning-chart"><figcaption>${t("planning_chart")} ${formatUtc(day0).slice(0, 10)} ${t("utc")}</figcaption>
    <svg viewBox="0 0 ${CHART.width} ${height}" role="img" aria-label="${t("planning_chart")}">
      ${ticks}${rows.length ? bars : html`<text class="row-label" x="2" y="${CHART.axis + 12}">${t("chart_empty")}</text>`}
      ${line("now", nowMs, t("now"))}${atMs === null ? "" : line("cursor", atMs, `${t("map_time")} ${formatUtc(atMs)}`)}
    </svg></figure>`;
}
