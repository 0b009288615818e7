// The side panels as HTML: alerts, inbox/outbox, conflicts, plans, incidents, statistics, audit.
// Buttons carry data-action and data-id; app.js handles them by delegation.

import {
  dataBlock,
  formatAltitude,
  formatAltitudeBand,
  formatArea,
  formatBound,
  formatDistance,
  formatDuration,
  formatHeight,
  formatMessageText,
  formatTime,
  formatVerticalSpeed,
  formatWindow,
  html,
  parseTime,
  raw,
} from "./format.js";
import { t } from "./i18n.js";
import { planningChart } from "./timeline.js";

const UNANSWERED = new Set(["sent", "delivered", "read"]);
const LEVEL_ORDER = { loss: 0, warning: 1, advisory: 2 };
/** The plan formats an own operation downloads in (GET /v1/operations/{id}?format=...). */
const PLAN_FORMATS = [
  ["f3548", "F3548"],
  ["kml", "KML"],
  ["notam", "NOTAM"],
];

export function isUnanswered(message) {
  return UNANSWERED.has(message.state);
}

function note(text) {
  return html`<p class="note">${text}</p>`;
}

/** The countdown to a message's reply_by: "reply in 4:12", or "OVERDUE 2:10" (red). */
export function deadline(message, nowMs) {
  if (!isUnanswered(message)) {
    return html`<span class="deadline done">${t("answered")} ${formatTime(parseTime(message.answered))}</span>`;
  }
  const byMs = parseTime(message.reply_by);
  if (!Number.isFinite(byMs)) return html`<span class="deadline none">${t("no_deadline")}</span>`;
  const left = (byMs - nowMs) / 1000;
  if (left < 0 || message.overdue) {
    return html`<span class="deadline overdue" data-reply-by="${message.reply_by}">${t("overdue")} +${formatDuration(left)}</span>`;
  }
  const urgent = left < 300 ? " urgent" : "";
  return html`<span class="deadline${raw(urgent)}" data-reply-by="${message.reply_by}">${t("reply_in")} ${formatDuration(left)}</span>`;
}

/** An own aircraft as the page names it: `name` (its callsign where known), its address on hover. */
function aircraftName(id, nameOf) {
  return html`<b class="aircraft" title="${id}">${nameOf(id)}</b>`;
}

/** `nameOf(id)`: the name of an own aircraft (its callsign where the page knows it, else its id). */
export function alertsPanel(alerts, missing, nameOf = (id) => id) {
  if (missing) return note(t("not_available"));
  if (!alerts.length) return html`<p class="note calm">${t("no_alerts")}</p>`;
  const sorted = [...alerts].sort(
    // Non-conformance alerts (no time to loss) after the separation alerts of their level.
    (a, b) => (LEVEL_ORDER[a.level] ?? 3) - (LEVEL_ORDER[b.level] ?? 3) || (a.time_to_loss_s ?? 1e12) - (b.time_to_loss_s ?? 1e12),
  );
  return html`<ul class="list alerts">${sorted.map((a) =>
    a.kind === "non_conformance"
      ? html`<li class="alert non-conformance level-${a.level}" data-action="focus-alert" data-id="${a.id}">
      <span class="badge level-${a.level}">${t("badge_non_conformance")}</span>
      ${a.own_id
        ? html`<span class="pair">${aircraftName(a.own_id, nameOf)}</span> <span class="stray">${t("non_conformance_own")}</span>`
        : html`<span class="pair"><b>${a.other_party.toUpperCase()}</b></span> <span class="stray">${t("non_conformance_other")}</span>`}
    </li>`
      : html`<li class="alert level-${a.level}" data-action="focus-alert" data-id="${a.id}">
      <span class="badge level-${a.level}">${t(`badge_${a.level}`)}</span>
      <span class="pair">${aircraftName(a.own_id, nameOf)} ${t("vs")} <b>${a.other_party.toUpperCase()}</b></span>
      ${a.withheld
        ? html`<span class="withheld">${a.level === "loss" ? `${t("loss")} · ` : ""}${t(`withheld_${a.withheld}`)}</span>`
        : html`<span class="ttl">${a.level === "loss" ? t("loss") : html`${formatDuration(a.time_to_loss_s)} ${t("los_in")}`}</span>
      <span class="cpa">${t("cpa")} ${formatDistance(a.distance_cpa_m)} / ${formatHeight(a.vertical_cpa_m)} ${t("in")} ${formatDuration(a.time_to_cpa_s)}</span>`}
    </li>`,
  )}</ul>`;
}

function messageItem(m, box, selectedId, nowMs, disputingId) {
  const selected = m.id === selectedId ? " selected" : "";
  const who = box === "inbox" ? html`${t("from")} <b>${m.from.toUpperCase()}</b>` : html`${t("to")} <b>${m.to.toUpperCase()}</b>`;
  const actions =
    box === "inbox" && isUnanswered(m)
      ? html`<div class="actions">
          ${m.state !== "read" ? html`<button type="button" data-action="read" data-id="${m.id}" aria-label="${t("read")} #${m.id}">${t("read")}</button>` : ""}
          <button type="button" class="primary" data-action="accept" data-id="${m.id}" aria-label="${t("accept")} #${m.id}">${t("accept")}</button>
          <button type="button" class="danger" data-action="dispute" data-id="${m.id}" aria-label="${t("dispute")} #${m.id}">${t("dispute")}</button>
        </div>`
      : "";
  const disputeForm =
    disputingId === m.id
      ? html`<form class="dispute-form" data-id="${m.id}">
          <input name="reason" required placeholder="${t("reason")}" aria-label="${t("reason")} #${m.id}" />
          <button type="submit" class="danger" aria-label="${t("send")} ${t("dispute")} #${m.id}">${t("send")}</button>
          <button type="button" data-action="cancel-dispute" data-id="${m.id}">${t("cancel")}</button>
        </form>`
      : "";
  const reply =
    box === "inbox"
      ? html`<button type="button" class="link" data-action="reply" data-id="${m.id}" aria-label="${t("reply")} #${m.id}">${t("reply")}</button>`
      : "";
  const overdue = m.overdue && isUnanswered(m) ? " overdue" : "";
  return html`<li class="msg state-${m.state}${raw(selected)}${raw(overdue)}" data-msg="${m.id}" data-box="${box}">
    <div class="row">
      <span class="badge state-${m.state}">${t("state_" + m.state)}</span>
      <span class="who">#${m.id} ${who}</span>
      <span class="when">${formatTime(parseTime(m.created))}</span>
      ${deadline(m, nowMs)}
    </div>
    <div class="title">${m.title}</div>
    <div class="body">${formatMessageText(m.rendered, m.params)}</div>
    ${m.reason ? html`<div class="reason">${t("reason")}: ${m.reason}</div>` : ""}
    ${actions}${disputeForm}${reply}
  </li>`;
}

export function messagesPanel(messages, box, selectedId, nowMs, disputingId) {
  if (messages === null) return note("…");
  if (!messages.length) return note(t("empty"));
  // Unanswered first (oldest first: the one to answer next on top), then the rest, newest first.
  // Listings come oldest first; ids are in no order (they count nothing), so order is the listing's.
  const open = messages.filter(isUnanswered);
  const done = messages.filter((m) => !isUnanswered(m)).reverse();
  const ordered = box === "inbox" ? [...open, ...done] : [...messages].reverse();
  return html`<ul class="list messages">${ordered.map((m) => messageItem(m, box, selectedId, nowMs, disputingId))}</ul>`;
}

export function conflictsPanel(conflicts, party, acceptingId) {
  if (conflicts === null) return note("…");
  if (!conflicts.length) return note(t("empty"));
  return html`<ul class="list conflicts">${conflicts.map((c) => {
    const ackedByMe = c.acknowledged_by.some((a) => a.party === party);
    const acceptedByMe = c.accepted_by.some((a) => a.party === party);
    const canAck = c.state === "open" && !ackedByMe;
    const canAccept = (c.state === "acknowledged" || (c.state === "open" && ackedByMe)) && !acceptedByMe;
    return html`<li class="conflict state-${c.state}" data-action="focus-conflict" data-id="${c.id}">
      <div class="row">
        <span class="badge cstate-${c.state}">${t("conflict_" + c.state)}</span>
        <span class="who">#${c.id} <b>${c.operation}</b> · ${c.volume}</span>
        <span class="other">${t("vs")} <b>${c.other_party.toUpperCase()}</b></span>
      </div>
      <div class="body"><span class="window">${formatWindow(parseTime(c.time_start), parseTime(c.time_end))}</span> ·
        <span class="band">${formatAltitudeBand(c.altitude_lower_m, c.altitude_upper_m, c.altitude_reference)}</span> ·
        ${t("overlap")} <span class="area">${formatArea(c.overlap_area_m2)}</span></div>
      ${c.acknowledged_by.length ? html`<div class="meta">${t("acknowledged_by")}: ${c.acknowledged_by.map((a) => a.party).join(", ")}</div>` : ""}
      ${c.accepted_by.map((a) => html`<div class="meta">${t("accepted_by")} ${a.party}: “${a.reason}”</div>`)}
      ${c.resolved_by ? html`<div class="meta">${t("resolved_by")} ${c.resolved_by} (${c.resolution})</div>` : ""}
      <div class="actions">
        ${canAck ? html`<button type="button" class="primary" data-action="ack-conflict" data-id="${c.id}" aria-label="${t("acknowledge")} ${t("conflicts")} #${c.id}">${t("acknowledge")}</button>` : ""}
        ${canAccept ? html`<button type="button" data-action="accept-conflict" data-id="${c.id}" aria-label="${t("accept_as_is")} #${c.id}">${t("accept_as_is")}</button>` : ""}
      </div>
      ${acceptingId === c.id
        ? html`<form class="accept-form" data-id="${c.id}">
            <input name="reason" required placeholder="${t("reason")}" aria-label="${t("reason")} ${t("conflicts")} #${c.id}" />
            <button type="submit" class="primary">${t("send")}</button>
            <button type="button" data-action="cancel-accept" data-id="${c.id}">${t("cancel")}</button>
          </form>`
        : ""}
    </li>`;
  })}</ul>`;
}

/** What the owner may do with an operation in each state (the server checks it again). */
const PLAN_ACTIONS = {
  proposed: ["activate", "extend"],
  accepted: ["activate", "extend"],
  activated: ["release", "extend"],
};

/** An operation's latest end (ms), the end an extension moves. */
export function planEndMs(op) {
  return Math.max(...op.volumes.features.map((f) => parseTime(f.properties.time_end)));
}

/** The extension form of `op`, open while `extendingId` is its id: the new end, RFC 3339 UTC. */
function extendForm(op, extendingId) {
  if (extendingId !== op.id) return "";
  const until = new Date(planEndMs(op) + 3_600_000).toISOString().replace(".000Z", "Z");
  return html`<form class="extend-form" data-id="${op.id}">
    <input name="until" required value="${until}" aria-label="${t("extend_until")} ${op.id}" title="${t("extend_until")}" />
    <button type="submit" class="primary">${t("plan_extend")}</button>
    <button type="button" data-action="cancel-extend" data-id="${op.id}">${t("cancel")}</button>
  </form>`;
}

/**
 * `selectedId`: the plan the "w" key withdraws (chosen by a click); `conflicts`, `nowMs` and the
 * map's time `atMs` (null: all times) for the timeline above the list; `extendingId`: the plan
 * whose extension form is open.
 */
export function plansPanel(
  operations,
  selectedId = null,
  conflicts = [],
  nowMs = Date.now(),
  extendingId = null,
  atMs = null,
) {
  if (operations === null) return note("…");
  if (!operations.length) return note(t("empty"));
  return html`${planningChart(operations, conflicts, nowMs, atMs)}<ul class="list plans">${operations.map(
    (op) => html`<li class="plan${raw(op.id === selectedId ? " selected" : "")}" data-action="focus-plan" data-id="${op.id}">
      <div class="row"><span class="badge plan-state op-${op.state}">${t("op_" + op.state)}</span>
        <span class="who"><b>${op.id}</b></span>
        <span class="meta">${t("version")} ${op.version} · ${t("priority")} ${op.priority}</span></div>
      ${op.state === "withdrawn" || op.state === "ended"
        ? ""
        : html`<div class="actions">
            ${(PLAN_ACTIONS[op.state] ?? []).map(
              (action) => html`<button type="button" class="${action === "activate" ? "primary" : ""}" data-action="${action}-plan"
                data-id="${op.id}" aria-label="${t("plan_" + action)} ${op.id}">${t("plan_" + action)}</button>`,
            )}
            <button type="button" data-action="amend-plan" data-id="${op.id}" aria-label="${t("amend")} ${op.id}">${t("amend")}</button>
            <button type="button" class="danger" data-action="withdraw-plan" data-id="${op.id}" aria-label="${t("withdraw")} ${op.id}">${t("withdraw")}</button>
          </div>
          ${extendForm(op, extendingId)}`}
      <div class="downloads">${t("download")}: ${PLAN_FORMATS.map(
        ([format, label]) => html`<button type="button" class="link" data-action="download-plan" data-id="${op.id}"
          data-format="${format}" aria-label="${t("download")} ${op.id} ${label}">${label}</button>`,
      )}</div>
      <ul class="volumes">${op.volumes.features.map((f) => {
        const p = f.properties;
        return html`<li><span class="vol">${p.id}</span> ${formatWindow(parseTime(p.time_start), parseTime(p.time_end))} ·
          ${formatBound(p.altitude_lower)} – ${formatBound(p.altitude_upper)}</li>`;
      })}</ul>
    </li>`,
  )}</ul>`;
}

export function incidentsPanel(incidents, missing, nameOf = (id) => id) {
  if (missing) return note(t("not_available"));
  if (incidents === null) return note("…");
  if (!incidents.length) return note(t("empty"));
  return html`<ul class="list incidents">${incidents.map((i) => {
    const c = i.closest ?? {};
    return html`<li class="incident ${i.ended ? "closed" : "open"}">
      <div class="row" data-action="focus-incident" data-id="${i.id}">
        <span class="badge ${i.ended ? "state-accepted" : "level-loss"}">${i.ended ? t("closed") : t("open")}</span>
        <span class="who">#${i.id} ${aircraftName(i.own_id, nameOf)} ${t("vs")} <b>${i.other_party.toUpperCase()}</b></span>
        <span class="when">${i.ended ? formatWindow(parseTime(i.started), parseTime(i.ended), { seconds: true }) : formatTime(parseTime(i.started), { seconds: true })}</span>
      </div>
      <div class="body">${t("closest")}: ${formatDistance(c.distance_m)} / ${formatHeight(c.vertical_m)} · ${formatAltitude(c.alt_m)} · ${formatTime(parseTime(c.time), { seconds: true })}</div>
      <ul class="comments">${(i.comments ?? []).map(
        (k) => html`<li><b>${k.party.toUpperCase()}</b> <span class="when">${formatTime(parseTime(k.time))}</span> ${k.text}</li>`,
      )}</ul>
      <form class="comment-form" data-id="${i.id}">
        <input name="text" required placeholder="${t("comment_placeholder")}" aria-label="${t("comment")} #${i.id}" />
        <button type="submit" aria-label="${t("add_comment")} #${i.id}">${t("add_comment")}</button>
      </form>
    </li>`;
  })}</ul>`;
}

/** The table under the statistics charts: one row per month and party pair. */
export function statsTable(stats, missing) {
  if (missing) return note(t("not_available"));
  if (stats === null) return note("…");
  const rows = [];
  for (const month of stats.months ?? []) {
    // The month's non-conformance alerts (own aircraft off their plans) on its first row.
    const strays = month.non_conformance ?? 0;
    month.pairs.forEach((pair, k) => rows.push({ month: month.month, ...pair, strays: k === 0 ? strays : "" }));
    if (!month.pairs.length && strays) rows.push({ month: month.month, parties: [stats.party], messages: "—", overdue: "", strays });
  }
  if (!rows.length) return note(t("empty"));
  const secs = (s) => (s === null || s === undefined ? "—" : formatDuration(s));
  return html`<div class="table-wrap"><table class="stats">
    <thead><tr><th>${t("month")}</th><th>${t("pair")}</th><th>${t("messages")}</th><th>${t("ack_median")}</th>
      <th>${t("ack_p95")}</th><th>${t("overdue_col")}</th><th title="${t("conflict_states")}">${t("conflicts")}*</th>
      <th>${t("alerts")}</th><th>${t("incidents")}</th><th>${t("non_conformance_col")}</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr><td>${r.month}</td><td>${r.parties.join(" – ")}</td><td>${r.messages}</td><td>${secs(r.ack_median_s)}</td>
        <td>${secs(r.ack_p95_s)}</td><td class="${r.overdue ? "bad" : ""}">${r.overdue}</td>
        <td>${r.conflicts ? `${r.conflicts.open}/${r.conflicts.acknowledged}/${r.conflicts.accepted}/${r.conflicts.resolved}` : "—"}</td>
        <td>${r.alerts ?? "—"}</td><td>${r.incidents ?? "—"}</td><td>${r.strays}</td></tr>`,
    )}</tbody></table></div><p class="meta">* ${t("conflict_states")}</p>`;
}

/** The text of `prefix + code` in the page's language, or the code itself when there is none (a party's name). */
function translated(prefix, code) {
  const text = t(prefix + code);
  return text === prefix + code ? code : text;
}

/** An audit subject ("operation:blue/op-1") with its kind in the page's language. */
function subjectText(subject) {
  const at = subject.indexOf(":");
  return at < 0 ? subject : `${translated("subject_", subject.slice(0, at))}:${subject.slice(at + 1)}`;
}

export function auditPanel(audit) {
  if (audit === null) return note(t("chain_checking"));
  if (audit.missing) return note(t("not_available"));
  const ok = audit.brokenAt === null && !audit.keyChanged;
  return html`<div class="audit ${ok ? "ok" : "broken"}">
    ${audit.keyChanged ? html`<div class="audit-warning" role="alert">⚠ ${t("key_changed")}: ${t("key_changed_detail")}</div>` : ""}
    <div class="audit-status">${ok ? html`✔ ${t("chain_verified")} ${audit.lastSeq}` : html`✖ ${t("chain_broken")} ${audit.brokenAt}`}</div>
    <div class="meta">${t("chain_detail", { links: audit.links, sigs: audit.signatures, visible: audit.visible })}</div>
    <ul class="list audit-entries">${audit.recent.map(
      (e) => html`<li><span class="when">#${e.seq} ${formatTime(e.time_s * 1000, { seconds: true })}</span>
        <b title="${e.kind}">${translated("audit_", e.kind)}</b> ${translated("actor_", e.actor)} ${e.subject.map(subjectText).join(" ")}</li>`,
    )}</ul>
  </div>`;
}

/**
 * The selected own aircraft: its data block, state and alerts (`row`, from the fleet's columns),
 * and its history (`track`: GET /v1/tracks/own/{id}, its trail newest first); null row: gone.
 */
export function aircraftPanel(id, row, track, alerts) {
  const close = html`<button type="button" class="close" data-action="close-aircraft" aria-label="${t("close")}">×</button>`;
  if (!row) return html`<header><h3>${id}</h3>${close}</header><p class="note">${t("aircraft_gone")}</p>`;
  const block = dataBlock(row);
  const history = [...(track?.trail ?? [])].reverse().slice(0, 10);
  return html`<header><h3 id="aircraft-title" title="${row.id}">${block.name}</h3>${close}</header>
    <dl>
      <dt>${t("aircraft_address")}</dt><dd class="address">${row.id}</dd>
      <dt>${t("aircraft_level")}</dt><dd class="level">${block.level}</dd>
      <dt>${t("aircraft_track")}</dt><dd>${Math.round(row.trk_deg)}°</dd>
      <dt>${t("aircraft_vs")}</dt><dd>${formatVerticalSpeed(row.vs_mps)}</dd>
      <dt>${t("aircraft_position")}</dt><dd>${row.lat_deg.toFixed(4)}, ${row.lon_deg.toFixed(4)}</dd>
      <dt>${t("aircraft_seen")}</dt><dd>${formatTime(row.time_s * 1000, { seconds: true })}</dd>
    </dl>
    ${alerts.length
      ? html`<p class="aircraft-alerts">${t("aircraft_alerts")}: ${alerts.map(
          (a) =>
            a.kind === "non_conformance"
              ? html`<span class="badge level-${a.level}">${t("badge_non_conformance")}</span> `
              : html`<span class="badge level-${a.level}">${t(`badge_${a.level}`)}</span> ${a.other_party.toUpperCase()} `,
        )}</p>`
      : ""}
    <h4>${t("aircraft_history")}</h4>
    <table class="history">
      <tbody>${history.map(
        (p) => html`<tr><td>${formatTime(parseTime(p[3]), { seconds: true })}</td><td>${formatAltitude(p[2])}</td><td>${p[1].toFixed(3)}, ${p[0].toFixed(3)}</td></tr>`,
      )}</tbody>
    </table>`;
}
