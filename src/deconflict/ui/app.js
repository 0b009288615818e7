// The operator's page: log-in, live map, panels, keyboard shortcuts.
/* global L, topojson, Chart */

import { Api, ApiError, EventStream, MISSING } from "./api.js";
import { checkAuditChain } from "./audit.js";
import { renderComposer, replyTo, setupComposer, startComposer, stopComposer } from "./compose.js";
import { clearBlindResult, setupBlindResult } from "./blind.js";
import { amendPlan, renderPlanner, startPlanner, stopPlanner, withdrawPlan } from "./planner.js";
import { formatDuration, formatUtc, html, parseTime, setUnitSystem, unitSystem } from "./format.js";
import { GeoContext } from "./geo.js";
import { LANGUAGES, language, setLanguage, t } from "./i18n.js";
import { MapView } from "./map.js";
import {
  aircraftPanel,
  alertsPanel,
  auditPanel,
  conflictsPanel,
  incidentsPanel,
  isUnanswered,
  messagesPanel,
  plansPanel,
  statsTable,
} from "./panels.js";

const TOKEN_KEY = "deconflict.token";
const LANG_KEY = "deconflict.lang";
const TABS = ["inbox", "outbox", "conflicts", "plans", "incidents", "stats", "audit"];
const PERIODS_MS = { live: 2000, trails: 5000, incidents: 5000, channel: 15000, stats: 60000, audit: 30000 };
/** Trails of the whole fleet are drawn up to this many aircraft; beyond, the selected aircraft's only. */
const TRAILS_FLEET_MAX = 500;

const $ = (selector) => document.querySelector(selector);

const state = {
  api: null,
  events: null,
  party: null,
  timers: [],
  operations: null,
  conflicts: null,
  inbox: null,
  outbox: null,
  alerts: [],
  alertsMissing: false,
  tracks: null, // GET /v1/tracks/columns, or the latest `tracks` frame
  tracksMissing: false,
  trails: null, // GET /v1/tracks' own aircraft with their trails (small fleets, trails on)
  selected: null, // {id, track: GET /v1/tracks/own/{id} or null}
  connected: false,
  incidents: null,
  incidentsMissing: false,
  stats: null,
  statsMissing: false,
  audit: null,
  tab: "inbox",
  selectedId: null,
  planId: null,
  disputingId: null,
  acceptingId: null,
  extendingId: null,
  planError: null,
  charts: [],
  auditHeadSeq: null,
};

let mapView = null;
let geo = null; // graticule, scale, cursor position, place names, overlays (ui/geo.js)

// ---------------------------------------------------------------- assets

function assetsPresent() {
  return typeof window.L !== "undefined" && typeof window.topojson !== "undefined" && typeof window.Chart !== "undefined";
}

function showAssetsMissing() {
  if (document.getElementById("assets-missing")) return;
  const banner = document.createElement("div");
  banner.id = "assets-missing";
  banner.className = "assets-missing";
  banner.setAttribute("role", "alert");
  banner.textContent = t("assets_missing");
  document.body.prepend(banner);
}

// ---------------------------------------------------------------- header

function setConnection(kind) {
  const pill = $("#ws-state");
  pill.dataset.state = kind;
  pill.textContent = t(`ws_${kind}`);
}

function tickClock() {
  const now = new Date();
  $("#clock").textContent = formatUtc(now.getTime(), { seconds: true }).replace("Z", " UTC");
  for (const el of document.querySelectorAll(".deadline[data-reply-by]")) {
    const left = (parseTime(el.dataset.replyBy) - now.getTime()) / 1000;
    if (left < 0) {
      el.classList.add("overdue");
      el.classList.remove("urgent");
      el.textContent = `${t("overdue")} +${formatDuration(left)}`;
      el.closest(".msg")?.classList.add("overdue");
    } else {
      el.classList.toggle("urgent", left < 300);
      el.textContent = `${t("reply_in")} ${formatDuration(left)}`;
    }
  }
}

// ---------------------------------------------------------------- rendering

/** Replace a panel's content, keeping what the operator was typing in its forms (and the focus). */
function setPanel(id, content) {
  const panel = document.getElementById(id);
  const typed = new Map();
  let focused = null;
  for (const input of panel.querySelectorAll("form input")) {
    const key = `${input.form.className}:${input.form.dataset.id}`;
    if (input.value) typed.set(key, input.value);
    if (input === document.activeElement) focused = key;
  }
  panel.innerHTML = String(content);
  for (const input of panel.querySelectorAll("form input")) {
    const key = `${input.form.className}:${input.form.dataset.id}`;
    if (typed.has(key)) input.value = typed.get(key);
    if (key === focused) input.focus();
  }
}

function setCount(tab, count, hot) {
  const el = document.querySelector(`[data-count="${tab}"]`);
  if (!el) return;
  el.textContent = count ? String(count) : "";
  el.classList.toggle("hot", Boolean(hot && count));
}

/** The tab's title carries what needs the operator: alerts and unanswered messages. */
function updateTitle() {
  const open = (state.inbox ?? []).filter(isUnanswered).length;
  const parts = [];
  if (state.alerts.length) parts.push(`⚠${state.alerts.length}`);
  if (open) parts.push(`✉${open}`);
  const who = state.party ? ` ${state.party.toUpperCase()}` : "";
  document.title = `${parts.length ? `(${parts.join(" ")}) ` : ""}${t("title")}${who}`;
}

/** One name per own aircraft, on the map and in the panels: its callsign where known, else its id. */
function nameOf(id) {
  return mapView ? mapView.fleet.nameOf(id) : id;
}

function renderAlerts() {
  updateTitle();
  if (mapView) mapView.setAlerts(state.alerts);
  renderTracks(); // first: the names of the aircraft come with them
  setPanel("alerts-list", alertsPanel(state.alerts, state.alertsMissing, nameOf));
  const worst = ["loss", "warning", "advisory"].find((l) => state.alerts.some((a) => a.level === l));
  $("#alerts-panel").dataset.level = worst ?? "none";
  $("#alerts-count").textContent = state.alerts.length ? String(state.alerts.length) : "";
}

function renderTracks() {
  if (!mapView) return;
  const levels = new Map(state.alerts.map((a) => [a.other_ref, a.level]));
  mapView.setTracks(state.tracks, levels);
  $("#tracks-note").hidden = !state.tracksMissing;
  renderTrails();
  renderAircraft();
}

function renderTrails() {
  if (!mapView) return;
  const size = mapView.fleet.size;
  const on = $("#trails").checked;
  const tooMany = on && size > TRAILS_FLEET_MAX;
  $("#trails-note").hidden = !tooMany;
  if (tooMany) $("#trails-note").textContent = t("trails_too_many", { n: size });
  mapView.setTrails(on && !tooMany ? state.trails : null);
}

/** The selected own aircraft's details (over the map) and its trail on the map. */
function renderAircraft() {
  const panel = $("#aircraft-details");
  const selected = state.selected;
  if (!selected || !mapView) {
    panel.hidden = true;
    panel.innerHTML = "";
    if (mapView) mapView.setSelected(null);
    return;
  }
  const row = mapView.fleet.row(selected.id);
  const alerts = state.alerts.filter((a) => a.own_id === selected.id);
  panel.innerHTML = String(aircraftPanel(selected.id, row, selected.track, alerts));
  panel.hidden = false;
  if (mapView.fleet.selectedId !== selected.id || mapView.selectedTrack !== selected.track) {
    mapView.selectedTrack = selected.track;
    mapView.setSelected(selected.track ?? { id: selected.id, trail: [] });
  }
}

/** Select an own aircraft (null: none): its details at once, its history when the server answers. */
function selectAircraft(id) {
  state.selected = id === null ? null : { id, track: null };
  renderAircraft();
  if (id !== null) guarded(loadSelected);
}

async function loadSelected() {
  const api = state.api;
  const selected = state.selected;
  if (!api || !selected) return;
  let track = null;
  try {
    track = await api.get(`/v1/tracks/own/${encodeURIComponent(selected.id)}`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  if (api !== state.api || state.selected !== selected) return;
  selected.track = track;
  renderAircraft();
}

function renderMessages() {
  const now = Date.now();
  setPanel("panel-inbox", messagesPanel(state.inbox, "inbox", state.selectedId, now, state.disputingId));
  setPanel("panel-outbox", messagesPanel(state.outbox, "outbox", null, now, null));
  const open = (state.inbox ?? []).filter(isUnanswered);
  setCount("inbox", open.length, open.some((m) => m.overdue));
  updateTitle();
  const overdueOut = (state.outbox ?? []).filter((m) => isUnanswered(m) && m.overdue);
  setCount("outbox", overdueOut.length, true);
  if (state.disputingId !== null) document.querySelector(".dispute-form input")?.focus();
}

function renderConflicts() {
  setPanel("panel-conflicts", conflictsPanel(state.conflicts, state.party, state.acceptingId));
  // The count is what waits for this side: open conflicts it has not acknowledged yet.
  const waiting = (state.conflicts ?? []).filter(
    (c) => c.state === "open" && !c.acknowledged_by.some((a) => a.party === state.party),
  );
  setCount("conflicts", waiting.length, true);
  if (mapView) mapView.setConflicts(state.conflicts ?? []);
  if (state.acceptingId !== null) document.querySelector(".accept-form input")?.focus();
}

/** The plans listed and their timeline (the map's time marked on it), without redrawing the map. */
function renderPlansPanel() {
  const error = state.planError ? html`<p class="note error" role="alert">${state.planError}</p>` : "";
  const conflicts = state.conflicts ?? [];
  const plans = plansPanel(state.operations, state.planId, conflicts, Date.now(), state.extendingId, mapTimeMs());
  setPanel("panel-plans", html`${error}${plans}`);
}

function renderPlans() {
  renderPlansPanel();
  renderPlanner();
  setCount("plans", (state.operations ?? []).length, false);
  if (mapView) {
    mapView.setPlans(state.operations ?? []);
    setupSlider();
  }
}

function renderIncidents() {
  setPanel("panel-incidents", incidentsPanel(state.incidents, state.incidentsMissing, nameOf));
  const open = (state.incidents ?? []).filter((i) => !i.ended);
  setCount("incidents", open.length, true);
  if (mapView) mapView.setIncidents(state.incidents ?? [], nameOf);
}

function renderStats() {
  setPanel("stats-table", statsTable(state.stats, state.statsMissing));
  for (const chart of state.charts) chart.destroy();
  state.charts = [];
  if (!state.stats || state.statsMissing || typeof Chart === "undefined") return;
  const months = state.stats.months.map((m) => m.month);
  const pairs = [...new Set(state.stats.months.flatMap((m) => m.pairs.map((p) => p.parties.join("–"))))];
  const palette = ["#4db8ff", "#d45cff", "#7ee081", "#ffc107", "#ff7a1a", "#9aa5b1"];
  const series = (field) =>
    pairs.map((pair, i) => ({
      label: pair,
      backgroundColor: palette[i % palette.length],
      data: state.stats.months.map((m) => {
        const found = m.pairs.find((p) => p.parties.join("–") === pair);
        return found ? field(found) : 0;
      }),
    }));
  Chart.defaults.color = "#c9d4df";
  Chart.defaults.borderColor = "#2b3a4a";
  const options = (title) => ({
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
  });
  state.charts.push(
    new Chart($("#chart-messages"), {
      type: "bar",
      data: { labels: months, datasets: series((p) => p.messages) },
      options: options(t("msgs_chart")),
    }),
    new Chart($("#chart-tactical"), {
      type: "bar",
      data: {
        labels: months,
        datasets: [
          ...series((p) => p.alerts).map((d) => ({ ...d, label: `${t("alerts")} ${d.label}`, stack: "alerts" })),
          ...series((p) => p.incidents).map((d, i) => ({
            ...d,
            label: `${t("incidents")} ${d.label}`,
            stack: "incidents",
            backgroundColor: ["#ff2d2d", "#b71c1c", "#ff8a80", "#7f0000"][i % 4],
          })),
        ],
      },
      options: options(t("tactical_chart")),
    }),
  );
}

function renderAudit() {
  setPanel("panel-audit-body", auditPanel(state.audit));
  const status = $("#audit-status");
  if (state.audit && !state.audit.missing) {
    status.textContent = state.audit.keyChanged
      ? t("key_changed")
      : state.audit.brokenAt === null
        ? `${t("chain_verified")} ${state.audit.lastSeq}`
        : `${t("chain_broken")} ${state.audit.brokenAt}`;
    status.dataset.ok = String(state.audit.brokenAt === null && !state.audit.keyChanged);
  }
}

function renderAll() {
  renderAlerts();
  renderMessages();
  renderConflicts();
  renderPlans();
  renderIncidents();
  renderStats();
  renderAudit();
}

// ---------------------------------------------------------------- time slider

function setupSlider() {
  const range = mapView.timeRange();
  const slider = $("#time-slider");
  const all = $("#time-all");
  slider.disabled = !range;
  if (!range) return;
  slider.min = String(Math.floor(range[0] / 60000));
  slider.max = String(Math.ceil(range[1] / 60000));
  if (!slider.dataset.touched) slider.value = slider.min;
  updateSliderLabel();
  mapView.setTime(all.checked ? null : Number(slider.value) * 60000);
}

/** The map's time: the slider's (ms), or null while "All times" is ticked. */
function mapTimeMs() {
  return $("#time-all").checked ? null : Number($("#time-slider").value) * 60000;
}

function updateSliderLabel() {
  const slider = $("#time-slider");
  const all = $("#time-all").checked;
  $("#time-label").textContent = all ? t("all_times") : formatUtc(Number(slider.value) * 60000);
}

// ---------------------------------------------------------------- loading

async function guarded(task) {
  try {
    await task();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      logOut(t("bad_token"));
      return;
    }
    console.warn(error);
  }
}

async function loadChannel() {
  const api = state.api;
  const [operations, conflicts, inbox, outbox] = await Promise.all([
    api.get("/v1/operations"),
    api.get("/v1/conflicts"),
    api.get("/v1/messages?box=inbox"),
    api.get("/v1/messages?box=outbox"),
  ]);
  if (api !== state.api) return;
  Object.assign(state, { operations, conflicts, inbox, outbox });
  renderPlans();
  renderConflicts();
  renderMessages();
}

async function loadMessages() {
  const api = state.api;
  const [inbox, outbox] = await Promise.all([api.get("/v1/messages?box=inbox"), api.get("/v1/messages?box=outbox")]);
  if (api !== state.api) return;
  Object.assign(state, { inbox, outbox });
  renderMessages();
}

async function loadConflicts() {
  const api = state.api;
  const conflicts = await api.get("/v1/conflicts");
  if (api !== state.api) return;
  state.conflicts = conflicts;
  renderConflicts();
  renderPlans();
}

async function loadOperations() {
  const api = state.api;
  const operations = await api.get("/v1/operations");
  if (api !== state.api) return;
  state.operations = operations;
  renderPlans();
}

/**
 * Activate, release or extend an own operation at the version the page shows (If-Match); a refusal
 * (its state, its window, a stale version) is shown above the plans, and the plans read again.
 */
async function changePlan(id, action, body) {
  const op = (state.operations ?? []).find((o) => o.id === id);
  if (!op) return;
  await guarded(async () => {
    try {
      await state.api.postIfMatch(`/v1/operations/${encodeURIComponent(id)}/${action}`, op.version, body);
      state.planError = null;
      state.extendingId = null;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      const detail = Array.isArray(error.detail) ? error.detail.map((p) => p.msg).join("; ") : error.detail;
      state.planError = `${id}: ${detail}`;
    }
    await Promise.all([loadOperations(), loadConflicts()]);
  });
}

/**
 * Alerts, and the tracks while the live connection is not there to push them (the first render
 * too: the page is ready with its aircraft drawn).
 */
async function loadLive(withTracks = !state.connected) {
  const api = state.api;
  const [tracks, alerts] = await Promise.all([
    withTracks ? api.optional("/v1/tracks/columns") : null,
    api.optionalPages("/v1/alerts", "alerts"),
  ]);
  if (api !== state.api) return;
  if (tracks !== null) {
    state.tracksMissing = tracks === MISSING;
    state.tracks = tracks === MISSING ? null : tracks;
  }
  state.alertsMissing = alerts === MISSING;
  state.alerts = alerts === MISSING ? [] : alerts.alerts;
  renderAlerts();
}

/** The fleet's trails, while they are on and the fleet small enough to draw them all. */
async function loadTrails() {
  const api = state.api;
  if (!mapView || !$("#trails").checked || mapView.fleet.size > TRAILS_FLEET_MAX) {
    state.trails = null;
    renderTrails();
    return;
  }
  const tracks = await api.optional("/v1/tracks");
  if (api !== state.api) return;
  state.trails = tracks === MISSING ? null : tracks.own;
  renderTrails();
}

async function loadIncidents() {
  const api = state.api;
  const incidents = await api.optionalPages("/v1/incidents", "incidents");
  if (api !== state.api) return;
  state.incidentsMissing = incidents === MISSING;
  state.incidents = incidents === MISSING ? [] : incidents.incidents;
  renderIncidents();
}

async function loadStats() {
  const api = state.api;
  const stats = await api.optional("/v1/stats");
  if (api !== state.api) return;
  state.statsMissing = stats === MISSING;
  state.stats = stats === MISSING ? null : stats;
  if (state.tab === "stats") renderStats();
  else setPanel("stats-table", statsTable(state.stats, state.statsMissing));
}

async function loadAudit() {
  const api = state.api;
  const audit = await checkAuditChain(api);
  if (api !== state.api) return;
  state.audit = audit;
  if (!audit.missing) state.auditHeadSeq = audit.lastSeq;
  renderAudit();
}

function every(ms, task) {
  state.timers.push(setInterval(() => guarded(task), ms));
}

function onEvent(frame) {
  switch (frame.type) {
    case "message":
    case "acknowledgement":
    case "deadline_passed":
    case "escalation":
      guarded(loadMessages);
      guarded(refreshAuditBadge);
      break;
    case "conflict":
      guarded(loadConflicts);
      break;
    case "operation":
      guarded(loadOperations);
      guarded(refreshAuditBadge);
      break;
    case "alerts": {
      // One frame per cycle carries every change to the party's alerts: apply them all, render once.
      const byId = new Map(state.alerts.map((a) => [a.id, a]));
      for (const change of frame.changes) {
        const { state: what, ...alert } = change;
        if (what === "cleared") byId.delete(alert.id);
        else byId.set(alert.id, alert);
      }
      state.alerts = [...byId.values()];
      renderAlerts();
      break;
    }
    case "incident":
    case "incident_comment":
      guarded(loadIncidents);
      break;
    case "tracks":
      state.tracks = frame;
      state.tracksMissing = false;
      renderTracks();
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- actions

async function ackMessage(id, level, reason) {
  await guarded(async () => {
    try {
      await state.api.post(`/v1/messages/${id}/ack`, reason ? { level, reason } : { level });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
    state.disputingId = null;
    await loadMessages();
  });
}

// Listings come oldest first; ids are in no order (they count nothing), so order is the listing's.
function unansweredInbox() {
  return (state.inbox ?? []).filter(isUnanswered);
}

function inboxOrder() {
  const open = unansweredInbox();
  const done = (state.inbox ?? []).filter((m) => !isUnanswered(m)).reverse();
  return [...open, ...done];
}

function selectedOrOldest() {
  const selected = (state.inbox ?? []).find((m) => m.id === state.selectedId && isUnanswered(m));
  return selected ?? unansweredInbox()[0] ?? null;
}

function moveSelection(step) {
  const order = inboxOrder();
  if (!order.length) return;
  const at = order.findIndex((m) => m.id === state.selectedId);
  const next = at < 0 ? (step > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, at + step));
  state.selectedId = order[next].id;
  showTab("inbox");
  renderMessages();
  document.querySelector(`.msg[data-msg="${state.selectedId}"]`)?.scrollIntoView({ block: "nearest" });
}

function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll("[data-tab]")) {
    const on = button.dataset.tab === tab;
    button.setAttribute("aria-selected", String(on));
    button.classList.toggle("active", on);
  }
  for (const name of TABS) document.getElementById(`tab-${name}`).hidden = name !== tab;
  if (tab === "stats") renderStats();
  if (tab === "audit" && state.api) guarded(loadAudit);
}

/** Save one of the party's operations in a plan format (the server writes it; the browser saves it). */
async function downloadPlan(id, format) {
  const path = `/v1/operations/${encodeURIComponent(id)}?format=${encodeURIComponent(format)}`;
  const { blob, name } = await state.api.download(path, `${id}.${format}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

async function onPanelClick(event) {
  // Typing or submitting a reason or comment moves nothing (Enter "clicks" the submit button).
  if (event.target.closest("form") && !event.target.closest("form [data-action]")) return;
  const target = event.target.closest("[data-action]");
  if (!target) {
    const item = event.target.closest(".msg[data-box=inbox]");
    if (item) {
      state.selectedId = Number(item.dataset.msg);
      for (const el of document.querySelectorAll(".msg.selected")) el.classList.remove("selected");
      item.classList.add("selected");
    }
    return;
  }
  const id = target.dataset.id;
  switch (target.dataset.action) {
    case "read":
      await ackMessage(id, "read");
      break;
    case "accept":
      await ackMessage(id, "accepted");
      break;
    case "dispute":
      state.disputingId = Number(id);
      renderMessages();
      break;
    case "reply": {
      const message = (state.inbox ?? []).find((m) => String(m.id) === id);
      if (message) {
        showTab("outbox");
        replyTo(message);
      }
      break;
    }
    case "cancel-dispute":
      state.disputingId = null;
      renderMessages();
      break;
    case "ack-conflict":
      await guarded(async () => {
        await state.api.post(`/v1/conflicts/${id}/ack`);
        await loadConflicts();
      });
      break;
    case "accept-conflict":
      state.acceptingId = Number(id);
      renderConflicts();
      break;
    case "cancel-accept":
      state.acceptingId = null;
      renderConflicts();
      break;
    case "focus-conflict": {
      const c = (state.conflicts ?? []).find((x) => String(x.id) === id);
      if (c && mapView) mapView.focusBbox(c.overlap_bbox);
      break;
    }
    case "focus-alert": {
      const a = state.alerts.find((x) => x.id === id);
      const where = a ? (a.own ?? a.other) : null; // another party's stray: where it is
      if (where && mapView) mapView.focusPoint(where[0], where[1]);
      if (a && a.own_id) selectAircraft(a.own_id);
      break;
    }
    case "focus-incident": {
      const i = (state.incidents ?? []).find((x) => String(x.id) === id);
      if (i && i.closest && mapView) mapView.focusPoint(i.closest.lon_deg, i.closest.lat_deg);
      break;
    }
    case "focus-plan":
      state.planId = id;
      for (const el of document.querySelectorAll(".plan.selected")) el.classList.remove("selected");
      target.classList.add("selected");
      if (mapView) mapView.fitOwn();
      break;
    case "amend-plan":
      event.stopPropagation();
      state.planId = id;
      amendPlan(id);
      break;
    case "withdraw-plan":
      event.stopPropagation();
      await guarded(() => withdrawPlan(id));
      break;
    case "activate-plan":
      event.stopPropagation();
      await changePlan(id, "activate");
      break;
    case "release-plan":
      event.stopPropagation();
      if (await confirmAction(t("confirm_release", { id }))) await changePlan(id, "release");
      break;
    case "extend-plan":
      event.stopPropagation();
      state.extendingId = id;
      renderPlans();
      document.querySelector(".extend-form input")?.focus();
      break;
    case "cancel-extend":
      event.stopPropagation();
      state.extendingId = null;
      renderPlans();
      break;
    case "download-plan":
      event.stopPropagation();
      await guarded(() => downloadPlan(id, target.dataset.format));
      break;
    default:
      break;
  }
}

async function onPanelSubmit(event) {
  const form = event.target;
  event.preventDefault();
  const id = form.dataset.id;
  const input = form.querySelector("input");
  const text = input.value.trim();
  if (!text) return;
  if (form.classList.contains("dispute-form")) {
    await ackMessage(id, "disputed", text);
  } else if (form.classList.contains("extend-form")) {
    await changePlan(id, "extend", { until: text });
  } else if (form.classList.contains("accept-form")) {
    await guarded(async () => {
      await state.api.post(`/v1/conflicts/${id}/accept`, { reason: text });
      state.acceptingId = null;
      await loadConflicts();
    });
  } else if (form.classList.contains("comment-form")) {
    await guarded(async () => {
      await state.api.post(`/v1/incidents/${id}/comments`, { text });
      input.value = "";
      await loadIncidents();
    });
  }
}

function toggleHelp(show) {
  const help = $("#help");
  help.hidden = show === undefined ? !help.hidden : !show;
  if (!help.hidden) $("#help-close").focus();
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (!state.api) return;
  if (!$("#confirm").hidden) {
    if (event.key === "Escape") $("#confirm-no").click(); // focus may have left the dialog
    return;
  }
  const typing = event.target.closest?.("input, textarea, select");
  if (event.key === "Escape") {
    toggleHelp(false);
    if (state.disputingId !== null) {
      state.disputingId = null;
      renderMessages();
    }
    if (state.selected) selectAircraft(null);
    return;
  }
  if (typing) return;
  const key = event.key;
  if (key === "?") {
    toggleHelp();
  } else if (key === "j") {
    moveSelection(1);
  } else if (key === "k") {
    moveSelection(-1);
  } else if (key === "a" || key === "r" || key === "d") {
    const message = selectedOrOldest();
    if (!message) return;
    state.selectedId = message.id;
    showTab("inbox");
    if (key === "a") {
      const text = t("confirm_accept", { id: message.id, from: message.from.toUpperCase() });
      confirmAction(text).then((yes) => yes && ackMessage(message.id, "accepted"));
    }
    else if (key === "r") ackMessage(message.id, "read");
    else {
      state.disputingId = message.id;
      renderMessages();
    }
  } else if (key === "c") {
    const open = (state.conflicts ?? []).filter(
      (c) => c.state === "open" && !c.acknowledged_by.some((a) => a.party === state.party),
    );
    if (open.length) {
      showTab("conflicts");
      guarded(async () => {
        await state.api.post(`/v1/conflicts/${open[0].id}/ack`);
        await loadConflicts();
      });
    }
  } else if (key === "w") {
    // Withdraw the plan selected in the Plans tab: irreversible, so confirmed first.
    const plan = (state.operations ?? []).find((op) => op.id === state.planId && op.state !== "withdrawn");
    if (!plan) return;
    showTab("plans");
    confirmAction(t("confirm_withdraw", { id: plan.id })).then((yes) => yes && guarded(() => withdrawPlan(plan.id)));
  } else if (key === "f") {
    if (mapView) mapView.fitOwn();
  } else if (/^[1-7]$/.test(key)) {
    showTab(TABS[Number(key) - 1]);
  } else {
    return;
  }
  event.preventDefault();
}


// ---------------------------------------------------------------- sent from the page

/** A message the composer (compose.js) sent: the outbox shows it, the audit badge moves. */
async function onMessageSent() {
  await guarded(loadMessages);
  guarded(refreshAuditBadge);
}

// ---------------------------------------------------------------- confirmation

/** Ask before an irreversible action a single key started; resolves true when confirmed. */
function confirmAction(text) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  dialog.hidden = false;
  $("#confirm-yes").focus();
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.hidden = true;
      $("#confirm-yes").removeEventListener("click", yes);
      $("#confirm-no").removeEventListener("click", no);
      dialog.removeEventListener("keydown", keys);
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    const keys = (event) => {
      event.stopPropagation();
      if (event.key === "Escape") no();
    };
    $("#confirm-yes").addEventListener("click", yes);
    $("#confirm-no").addEventListener("click", no);
    dialog.addEventListener("keydown", keys);
  });
}

// ---------------------------------------------------------------- audit badge

/** Re-check the chain when its head moved, whichever tab is open (the header's badge stays current). */
async function refreshAuditBadge() {
  const api = state.api;
  const head = await api.optional("/v1/audit/head");
  if (api !== state.api || head === MISSING) return;
  if (head.seq === state.auditHeadSeq) return;
  state.auditHeadSeq = head.seq;
  await loadAudit();
}

// ---------------------------------------------------------------- session

function stopSession() {
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  if (state.events) state.events.stop();
  state.events = null;
  state.api = null;
  stopComposer();
  stopPlanner();
  clearBlindResult(() => mapView);
}

function logOut(message) {
  stopSession();
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, {
    party: null,
    operations: null,
    conflicts: null,
    inbox: null,
    outbox: null,
    alerts: [],
    tracks: null,
    trails: null,
    selected: null,
    connected: false,
    incidents: null,
    stats: null,
    audit: null,
    selectedId: null,
    planId: null,
    disputingId: null,
    acceptingId: null,
    extendingId: null,
    planError: null,
    auditHeadSeq: null,
  });
  geo?.clearOverlays();
  if (mapView) {
    mapView.fitted = false;
    mapView.tracksFitted = false;
    renderAll();
  }
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message ?? "";
  $("#token").value = "";
  $("#token").focus();
}

async function logIn(token) {
  stopSession();
  const api = new Api(token, language());
  let me;
  try {
    me = await api.get("/v1/parties/me");
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#login").hidden = false;
    $("#app").hidden = true;
    $("#login-error").textContent = error instanceof ApiError ? t("bad_token") : t("server_down");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.api = api;
  state.party = me.name;
  $("#party-name").textContent = me.name.toUpperCase();
  $("#login").hidden = true;
  $("#app").hidden = false;
  if (mapView) mapView.map.invalidateSize();
  state.events = new EventStream({
    token,
    lang: language(),
    onEvent,
    onState: (kind) => {
      state.connected = kind === "connected";
      setConnection(kind);
    },
    onRejected: () => logOut(t("bad_token")),
  });
  state.events.start();
  await Promise.all([
    guarded(loadChannel),
    guarded(() => loadLive(true)),
    guarded(loadIncidents),
    guarded(loadStats),
    guarded(loadAudit),
    guarded(() => startComposer(api, me.name, onMessageSent)),
    guarded(() => geo?.loadOverlays(api)),
  ]);
  startPlanner({
    api,
    mapView,
    operations: () => state.operations ?? [],
    onChanged: () => guarded(loadChannel),
  });
  await guarded(loadTrails);
  every(PERIODS_MS.live, loadLive);
  every(PERIODS_MS.trails, loadTrails);
  every(PERIODS_MS.trails, loadSelected);
  every(PERIODS_MS.incidents, loadIncidents);
  every(PERIODS_MS.channel, loadChannel);
  every(PERIODS_MS.stats, loadStats);
  every(PERIODS_MS.audit, refreshAuditBadge);
  document.body.dataset.ready = "true";
}

function switchLanguage(lang) {
  localStorage.setItem(LANG_KEY, lang);
  setLanguage(lang);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
  }
  if (state.api) {
    state.api.lang = lang;
    state.events?.restart(lang);
    guarded(loadChannel);
  }
  setConnection($("#ws-state").dataset.state || "offline");
  renderAll();
  renderComposer();
  renderPlanner();
  updateSliderLabel();
  mapView?.fleet.redraw();
}

/** Show every altitude, speed and distance in `system` ("aviation" or "si"), kept for this browser. */
function switchUnits(system) {
  setUnitSystem(system);
  $("#units").value = unitSystem();
  renderAll();
  renderPlanner();
  mapView?.fleet.redraw();
}

async function main() {
  const stored = localStorage.getItem(LANG_KEY);
  const preferred = stored ?? (navigator.language || "en").slice(0, 2);
  setLanguage(LANGUAGES.includes(preferred) ? preferred : "en");
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
    button.addEventListener("click", () => switchLanguage(button.dataset.lang));
  }
  if (assetsPresent()) {
    mapView = new MapView($("#map"), (id) => selectAircraft(id));
    window.deconflictMap = mapView; // read by the browser tests and benchmarks/page.py
    mapView.loadBasemap("/ui/vendor/countries-50m.json").catch(() => showAssetsMissing());
    geo = new GeoContext(mapView.map);
    geo.loadPlaces("/ui/vendor/places.json").catch(() => showAssetsMissing());
  } else {
    showAssetsMissing();
    $("#map").classList.add("no-map");
    $("#map").textContent = t("assets_missing");
  }
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    logIn($("#token").value.trim());
  });
  $("#logout").addEventListener("click", () => logOut());
  $("#help-button").addEventListener("click", () => toggleHelp());
  $("#help-close").addEventListener("click", () => toggleHelp(false));
  $("#fit").addEventListener("click", () => mapView?.fitOwn());
  $("#trails").addEventListener("change", () => guarded(loadTrails));
  $("#aircraft-details").addEventListener("click", (event) => {
    if (event.target.closest("[data-action=close-aircraft]")) selectAircraft(null);
  });
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  const side = $("#side");
  side.addEventListener("click", (event) => onPanelClick(event));
  side.addEventListener("submit", (event) => onPanelSubmit(event));
  $("#time-slider").addEventListener("input", () => {
    $("#time-slider").dataset.touched = "true";
    $("#time-all").checked = false;
    updateSliderLabel();
    mapView?.setTime(mapTimeMs());
    renderPlansPanel();
  });
  $("#time-all").addEventListener("change", () => {
    updateSliderLabel();
    mapView?.setTime(mapTimeMs());
    renderPlansPanel();
  });
  $("#units").value = unitSystem();
  $("#units").addEventListener("change", () => switchUnits($("#units").value));
  setupComposer(guarded);
  setupBlindResult(() => mapView);
  document.addEventListener("keydown", onKey);
  setInterval(tickClock, 1000);
  tickClock();
  setConnection("offline");
  showTab("inbox");
  renderAll();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) await logIn(token);
  else {
    $("#login").hidden = false;
    $("#token").focus();
  }
}

main();
