// The planner of the Plans panel: file, amend and withdraw the party's operations from the page.
// The volumes come from a plan file (any format the command line reads: the server converts it,
// POST /v1/operations/convert) or from a polygon or circle drawn on the map with the altitudes
// and window typed in. An operation already filed under the id is amended (PUT, If-Match).

import { ApiError } from "./api.js";
import { formatDistance } from "./format.js";
import { t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** {api, mapView, operations() (the party's, as listed), onChanged() (reload)}; see startPlanner. */
let session = null;
/** The shape drawn: {kind: "polygon", ring} or {kind: "circle", centre, radius_m}; or null. */
let shape = null;
/** The plan file chosen: a File, or null. */
let upload = null;

function current(id) {
  return (session?.operations() ?? []).find((op) => op.id === id && op.state !== "withdrawn") ?? null;
}

/** The submit button says whether the id files a new operation or amends one. */
export function renderPlanner() {
  const op = current($("#plan-id").value.trim());
  $("#plan-submit").textContent = op ? t("amend_submit", { version: op.version }) : t("file_submit");
  if (shape) {
    $("#plan-shape").textContent =
      shape.kind === "circle"
        ? t("drawn_circle", { radius: formatDistance(shape.radius_m) })
        : t("drawn_polygon", { n: shape.ring.length - 1 });
  }
}

function utcInput(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

function fromUtcInput(value) {
  return value ? Date.parse(`${value}:00Z`) : NaN;
}

function altitude(value, units) {
  return units === "FL" ? { value, units } : { value, units, reference: "MSL" };
}

/** The drawn shape as one PRODUCT.md volume, or the problems of the form. */
function drawnFeature(id) {
  const problems = [];
  const lower = Number($("#plan-lower").value);
  const upper = Number($("#plan-upper").value);
  const units = $("#plan-units").value;
  const startMs = fromUtcInput($("#plan-start").value);
  const endMs = fromUtcInput($("#plan-end").value);
  if (!(upper > lower)) problems.push(t("v_altitudes"));
  if (!(endMs > startMs)) problems.push(t("v_window"));
  if (problems.length) return { problems };
  const geometry =
    shape.kind === "circle"
      ? { type: "Point", coordinates: shape.centre }
      : { type: "Polygon", coordinates: [shape.ring] };
  const properties = {
    id: `${id}/v1`,
    altitude_lower: altitude(lower, units),
    altitude_upper: altitude(upper, units),
    time_start: new Date(startMs).toISOString(),
    time_end: new Date(endMs).toISOString(),
  };
  if (shape.kind === "circle") properties.radius_m = Math.round(shape.radius_m);
  return { features: [{ type: "Feature", geometry, properties }] };
}

function showProblems(problems) {
  $("#plan-errors").innerHTML = "";
  for (const text of problems) {
    const item = document.createElement("li");
    item.textContent = text;
    $("#plan-errors").append(item);
  }
}

function problemTexts(error) {
  if (error instanceof ApiError && Array.isArray(error.detail)) {
    return error.detail.map((p) => (typeof p === "string" ? p : [p.record, p.field, p.message ?? p.msg].filter(Boolean).join(": ")));
  }
  return [error.message];
}

async function submit(event) {
  event.preventDefault();
  $("#plan-filed").textContent = "";
  const id = $("#plan-id").value.trim();
  const priority = Number($("#plan-priority").value || 0);
  const problems = [];
  if (!ID_PATTERN.test(id)) problems.push(`${t("operation_id")}: ${t("v_operation_id")}`);
  if (!upload && !shape) problems.push(t("v_shape"));
  if (problems.length) return showProblems(problems);
  try {
    let features;
    if (upload) {
      const query = new URLSearchParams({ name: upload.name, operation: id });
      ({ features } = await session.api.post(`/v1/operations/convert?${query}`, await upload.arrayBuffer()));
    } else {
      const drawn = drawnFeature(id);
      if (drawn.problems) return showProblems(drawn.problems);
      features = drawn.features;
    }
    const body = { id, priority, type: "FeatureCollection", features };
    const op = current(id);
    const path = `/v1/operations${op ? `/${encodeURIComponent(id)}` : ""}`;
    const filed = op
      ? await session.api.put(path, body, { "If-Match": `"${op.version}"` })
      : await session.api.post(path, body);
    showProblems([]);
    $("#plan-filed").textContent = t("filed_ok", {
      id,
      version: filed.operation.version,
      n: filed.conflicts.length,
    });
    clearShape();
    upload = null;
    $("#plan-file").value = "";
    await session.onChanged();
  } catch (error) {
    showProblems(problemTexts(error));
  }
}

function clearShape() {
  shape = null;
  $("#plan-shape").textContent = "";
  session?.mapView?.stopDrawing();
}

function draw(kind) {
  if (!session?.mapView) return;
  upload = null;
  $("#plan-file").value = "";
  shape = null;
  $("#plan-shape").textContent = t(kind === "circle" ? "drawing_circle" : "drawing_polygon");
  session.mapView.startDrawing(kind, (drawn) => {
    shape = drawn;
    renderPlanner();
  });
}

/** Fill the form to amend operation `id` (its id and priority; the volumes come from a file or a drawing). */
export function amendPlan(id) {
  const op = current(id);
  if (!op) return;
  $("#plan-id").value = op.id;
  $("#plan-priority").value = String(op.priority);
  renderPlanner();
  $("#plan-id").scrollIntoView({ block: "nearest" });
  $("#plan-file").focus();
}

/** Withdraw operation `id` at its current version (If-Match); the caller asks for confirmation first. */
export async function withdrawPlan(id) {
  const op = current(id);
  if (!op) return;
  await session.api.post(`/v1/operations/${encodeURIComponent(id)}/withdraw`, {}, { "If-Match": `"${op.version}"` });
  $("#plan-filed").textContent = t("withdrawn_ok", { id });
  await session.onChanged();
}

let wired = false;

/** Start the planner for a logged-in session: {api, mapView, operations(), onChanged()}. */
export function startPlanner(options) {
  session = options;
  if (!$("#plan-start").value) {
    const hourMs = 3_600_000;
    const startMs = Math.ceil(Date.now() / hourMs) * hourMs;
    $("#plan-start").value = utcInput(startMs);
    $("#plan-end").value = utcInput(startMs + 2 * hourMs);
  }
  renderPlanner();
  if (wired) return;
  wired = true;
  $("#plan-form").addEventListener("submit", submit);
  $("#plan-id").addEventListener("input", renderPlanner);
  $("#plan-file").addEventListener("change", (event) => {
    upload = event.target.files[0] ?? null;
    if (upload) clearShape();
  });
  $("#draw-polygon").addEventListener("click", () => draw("polygon"));
  $("#draw-circle").addEventListener("click", () => draw("circle"));
  $("#draw-clear").addEventListener("click", clearShape);
}

/** Forget the session, its drawing and its file (log-out). */
export function stopPlanner() {
  clearShape();
  upload = null;
  session = null;
  showProblems([]);
  $("#plan-filed").textContent = "";
}
