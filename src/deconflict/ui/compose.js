// The hotline composer of the Outbox panel: the party's signing key, a catalogue message's
// fields made from its schema, checks in the page, signing (hotline.js) and sending.
// The key is a non-extractable CryptoKey held in this module's memory only: never in
// storage, never in a request; forgotten on log-out, on "Forget key" and when the page goes.

import { ApiError } from "./api.js";
import { escapeHtml } from "./format.js";
import {
  fieldKind,
  importSigningKey,
  newNonce,
  preview,
  readParams,
  replyBy,
  signedBody,
  textProblems,
} from "./hotline.js";
import { language, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const REPLY_MINUTES = [0, 5, 15, 30, 60, 120, 240];

/** The signing key: {name (the file's), key (CryptoKey)} or null. */
let signingKey = null;
/** The session the composer sends in: {api, party, onSent} (see startComposer). */
let session = null;
let catalogue = null;
let recipients = [];

/** What the operator typed in the parameter fields: name -> text. */
function typedParams() {
  const typed = {};
  for (const input of document.querySelectorAll("#compose-params input")) typed[input.name] = input.value;
  return typed;
}

function catalogueEntry() {
  return (catalogue?.messages ?? []).find((m) => m.code === $("#compose-code").value) ?? null;
}

function showKeyState(message) {
  $("#key-state").textContent = message ?? (signingKey ? t("key_loaded", { name: signingKey.name }) : t("key_none"));
  $("#forget-key").hidden = !signingKey;
}

/** The composer's selects, fields and preview in the page's language, keeping what was typed. */
export function renderComposer() {
  if (!catalogue) return;
  const lang = language();
  const code = $("#compose-code");
  const chosen = code.value || "FREE";
  code.innerHTML = catalogue.messages
    .map((m) => `<option value="${escapeHtml(m.code)}">${escapeHtml(m.title[lang] ?? m.code)}</option>`)
    .join("");
  code.value = chosen;
  const to = $("#compose-to");
  const recipient = to.value;
  to.innerHTML = [`<option value=""></option>`, ...recipients.map((p) => `<option>${escapeHtml(p)}</option>`)].join("");
  to.value = recipients.includes(recipient) ? recipient : "";
  const reply = $("#compose-reply");
  const minutes = reply.value || "30";
  reply.innerHTML = REPLY_MINUTES.map(
    (m) => `<option value="${m}">${m ? `${m} ${escapeHtml(t("minutes"))}` : escapeHtml(t("no_reply_by"))}</option>`,
  ).join("");
  reply.value = minutes;
  renderParamFields();
  showKeyState();
}

function renderParamFields() {
  const entry = catalogueEntry();
  const typed = typedParams();
  const schema = entry?.params_schema ?? {};
  const required = new Set(schema.required ?? []);
  $("#compose-params").innerHTML = Object.entries(schema.properties ?? {})
    .map(([name, declared]) => {
      const kind = fieldKind(declared, schema);
      const mode = kind === "string" ? "text" : kind === "integer" ? "numeric" : "decimal";
      const hint = declared.description ?? schema.$defs?.[String(declared.$ref ?? "").split("/").pop()]?.description ?? "";
      return `<div class="field"><label for="param-${escapeHtml(name)}">${escapeHtml(name)}${required.has(name) ? `<span aria-hidden="true"> *</span>` : ""}</label>
        <input id="param-${escapeHtml(name)}" name="${escapeHtml(name)}" inputmode="${mode}" autocomplete="off"${required.has(name) ? " required" : ""} aria-label="${escapeHtml(name)}"
          placeholder="${escapeHtml(hint)}" value="${escapeHtml(typed[name] ?? "")}" /></div>`;
    })
    .join("");
  renderPreview();
}

function renderPreview() {
  const entry = catalogueEntry();
  const body = entry ? preview(entry, language(), typedParams()) : "";
  const text = $("#compose-text").value.trim();
  $("#compose-preview").textContent = [body, text].filter(Boolean).join("\n");
}

function showComposeProblems(problems) {
  $("#compose-errors").innerHTML = problems
    .map((p) => `<li data-field="${escapeHtml(p.field)}">${escapeHtml(p.field)}: ${escapeHtml(p.msg)}</li>`)
    .join("");
}

/**
 * Open the composer for a session: `api` (api.js Api), the party's name, and `onSent`
 * (called with the message the server stored). Loads the catalogue and the parties.
 */
export async function startComposer(api, party, onSent) {
  const current = { api, party, onSent };
  session = current;
  const [loaded, parties] = await Promise.all([api.get("/v1/catalogue"), api.get("/v1/parties")]);
  if (session !== current) return;
  catalogue = loaded;
  recipients = parties.filter((p) => p.name !== party && !p.revoked).map((p) => p.name);
  renderComposer();
}

/** Close the composer: the key is forgotten, the catalogue dropped. */
export function stopComposer() {
  session = null;
  catalogue = null;
  recipients = [];
  forgetKey();
}

async function onKeyFile(event) {
  const input = event.target;
  const file = input.files?.[0];
  input.value = ""; // the page keeps no handle on the file
  if (!file) return;
  try {
    const key = await importSigningKey(await file.text());
    signingKey = { name: file.name, key };
    showKeyState();
  } catch (error) {
    signingKey = null;
    showKeyState(t(error.message));
  }
}

function forgetKey() {
  signingKey = null;
  showKeyState();
}

/** The composed message and what is wrong with it ({field, msg} each), checked in the page. */
function composeProblems() {
  const entry = catalogueEntry();
  const to = $("#compose-to").value;
  const text = $("#compose-text").value;
  const { params, problems } = entry ? readParams(entry.params_schema, typedParams()) : { params: {}, problems: [] };
  problems.push(...textProblems(entry?.code, text));
  if (!to) problems.unshift({ field: "to", key: "v_recipient", args: {} });
  if (!signingKey) problems.unshift({ field: "key", key: "v_no_key", args: {} });
  return { entry, to, text, params, problems: problems.map((p) => ({ field: p.field, msg: t(p.key, p.args) })) };
}

/** Check the composed message in the page (nothing is sent when a field is wrong), sign it, send it. */
async function onComposeSubmit(event) {
  event.preventDefault();
  $("#compose-sent").textContent = "";
  const { entry, to, text, params, problems } = composeProblems();
  if (problems.length) {
    showComposeProblems(problems);
    return;
  }
  const current = session;
  const content = {
    from: current.party,
    to,
    code: entry.code,
    params,
    text,
    reply_by: replyBy(Number($("#compose-reply").value), Date.now()),
    nonce: newNonce(),
  };
  const button = $("#compose-form button[type=submit]");
  button.disabled = true; // one press, one message (each send has a new nonce)
  try {
    const sent = await current.api.post("/v1/messages", await signedBody(signingKey.key, content));
    showComposeProblems([]);
    $("#compose-text").value = "";
    for (const input of document.querySelectorAll("#compose-params input")) input.value = "";
    renderPreview();
    $("#compose-sent").textContent = t("sent_ok", { id: sent.id, to: to.toUpperCase() });
    await current.onSent(sent);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) throw error; // the caller logs out
    const detail = Array.isArray(error.detail) ? error.detail : [{ field: "", msg: error.message }];
    showComposeProblems(detail.map((p) => ({ field: p.field ?? "", msg: p.msg })));
  } finally {
    button.disabled = false;
  }
}

/** Reply to a received message: the composer, addressed to its sender, the text starting "Re #id: ". */
export function replyTo(message) {
  $("#compose-to").value = message.from;
  const text = $("#compose-text");
  text.value = t("re", { id: message.id });
  renderPreview();
  text.focus();
  text.setSelectionRange(text.value.length, text.value.length);
}

/** Wire the composer's controls once; `guard` runs the send and handles what it throws (app.js guarded). */
export function setupComposer(guard) {
  $("#signing-key").addEventListener("change", (event) => onKeyFile(event));
  $("#forget-key").addEventListener("click", forgetKey);
  $("#compose-code").addEventListener("change", () => {
    renderParamFields();
    showComposeProblems([]);
  });
  // What was refused is re-checked when the operator edits it; nothing is sent until Sign and send.
  $("#compose-form").addEventListener("input", () => {
    renderPreview();
    if ($("#compose-errors").childElementCount) showComposeProblems(composeProblems().problems);
  });
  $("#compose-form").addEventListener("submit", (event) => guard(() => onComposeSubmit(event)));
  window.addEventListener("pagehide", forgetKey);
}
