// Composing and signing hotline messages in the page.
//
// The party's Ed25519 private key (the PKCS #8 PEM file `deconflict party keygen`
// or `party add --key-out` writes) is read from a file the operator picks and
// imported as a non-extractable WebCrypto key: it lives in this page's memory
// only, is never stored and never sent. What is signed is byte for byte what the
// server verifies (deconflict.channel.messages.canonical_bytes): the UTF-8 JSON
// of {code, from, nonce, params, reply_by, text, to} with keys sorted by code
// point, no whitespace, non-ASCII characters as themselves and numbers written
// as Python writes them.

/** The longest free text a message may carry (deconflict.channel.catalogue.MAX_TEXT_CHARS). */
export const MAX_TEXT_CHARS = 4000;
/** The code of a free-text-only message, whose text must not be empty. */
export const FREE_TEXT_CODE = "FREE";

// ---------------------------------------------------------------- canonical JSON

function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * A finite number as the server writes it after reading the request (json.dumps of what
 * json.loads made of JSON.stringify's text). Whole numbers below 1e21 are written by
 * JSON.stringify without a point or exponent, so the server reads an int and writes the
 * same digits; other numbers become floats, which Python writes as the same shortest
 * round-trip digits in its own layout: an exponent when < 1e-4 or >= 1e16, with two
 * digits at least.
 */
export function pythonNumber(value) {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  const [mantissa, exp] = value.toExponential().split("e");
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(value); // positional in JS too for these exponents, with a point (not whole)
}

/** JSON as Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes it. */
export function canonicalJson(value) {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "string") {
    if (!value.isWellFormed()) throw new RangeError("text with a lone surrogate cannot be signed");
    return JSON.stringify(value); // escapes exactly what Python escapes with ensure_ascii=False
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(value[k])}`).join(",")}}`;
}

/** The bytes a message's signature covers. */
export function canonicalBytes({ from, to, code, params, text, reply_by, nonce }) {
  return new TextEncoder().encode(canonicalJson({ code, from, nonce, params, reply_by, text, to }));
}

// ---------------------------------------------------------------- key and signature

function derOfPem(pem, label) {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!match) return null;
  return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/**
 * The signing key of an unencrypted PKCS #8 PEM Ed25519 private key, non-extractable.
 * Throws an Error saying what is wrong with the file.
 */
export async function importSigningKey(pem) {
  if (pem.includes("ENCRYPTED PRIVATE KEY")) throw new Error("key_encrypted");
  const der = derOfPem(pem, "PRIVATE KEY");
  if (!der) throw new Error("key_not_pem");
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  } catch {
    throw new Error("key_not_ed25519");
  } finally {
    der.fill(0);
  }
}

function base64(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text);
}

/** A nonce of 22 URL-safe characters (128 random bits). */
export function newNonce() {
  return base64(crypto.getRandomValues(new Uint8Array(16)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The POST /v1/messages body of a content, signed with `key`. */
export async function signedBody(key, content) {
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, canonicalBytes(content));
  const { to, code, params, text, reply_by, nonce } = content;
  return { to, code, params, text, reply_by, nonce, signature: base64(signature) };
}

// ---------------------------------------------------------------- parameters

/** The schema `ref` points at ("#/$defs/name") inside `root`. */
function resolve(schema, root) {
  let seen = 0;
  while (schema && typeof schema.$ref === "string" && seen++ < 8) {
    const path = schema.$ref.replace(/^#\//, "").split("/");
    schema = path.reduce((node, part) => node?.[part], root);
  }
  return schema ?? {};
}

/** How the page shows and reads a parameter: "integer", "number" or "string". */
export function fieldKind(schema, root) {
  const type = resolve(schema, root).type;
  return type === "integer" || type === "number" ? type : "string";
}

/**
 * The params object of a code from the form's typed values (field name -> text), checked
 * against the code's JSON Schema (the keywords the catalogue uses: type, required,
 * additionalProperties, minLength, maxLength, pattern, minimum, maximum, exclusive bounds,
 * enum, $ref). Returns {params, problems}: each problem is {field: "params.name", key, args}.
 * The server checks again with a full validator.
 */
export function readParams(root, typed) {
  const properties = root.properties ?? {};
  const required = new Set(root.required ?? []);
  const params = {};
  const problems = [];
  const fail = (name, key, args = {}) => problems.push({ field: `params.${name}`, key, args });
  for (const [name, declared] of Object.entries(properties)) {
    const schema = resolve(declared, root);
    const text = (typed[name] ?? "").trim();
    if (!text) {
      if (required.has(name)) fail(name, "v_required");
      continue;
    }
    let value = text;
    if (schema.type === "integer") {
      if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        fail(name, "v_integer");
        continue;
      }
      value = Number(text);
    } else if (schema.type === "number") {
      value = Number(text);
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || !Number.isFinite(value)) {
        fail(name, "v_number");
        continue;
      }
    }
    if (typeof value === "number") {
      if (schema.minimum !== undefined && value < schema.minimum) fail(name, "v_minimum", { limit: schema.minimum });
      if (schema.maximum !== undefined && value > schema.maximum) fail(name, "v_maximum", { limit: schema.maximum });
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
        fail(name, "v_ex_minimum", { limit: schema.exclusiveMinimum });
      }
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
        fail(name, "v_ex_maximum", { limit: schema.exclusiveMaximum });
      }
    } else {
      const length = Array.from(value).length; // JSON Schema counts code points, as Python's len
      if (schema.minLength !== undefined && length < schema.minLength) fail(name, "v_min_length", { limit: schema.minLength });
      if (schema.maxLength !== undefined && length > schema.maxLength) fail(name, "v_max_length", { limit: schema.maxLength });
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) {
        fail(name, "v_pattern", { example: schema.description ?? schema.pattern });
      }
    }
    if (schema.enum !== undefined && !schema.enum.includes(value)) fail(name, "v_enum", { values: schema.enum.join(", ") });
    params[name] = value;
  }
  return { params, problems };
}

/** Problems of the free text for `code`: {field: "text", key, args}. */
export function textProblems(code, text) {
  const problems = [];
  if (code === FREE_TEXT_CODE && !text.trim()) problems.push({ field: "text", key: "v_free_text", args: {} });
  const length = Array.from(text).length;
  if (length > MAX_TEXT_CHARS) problems.push({ field: "text", key: "v_text_long", args: { limit: MAX_TEXT_CHARS } });
  if (!text.isWellFormed()) problems.push({ field: "text", key: "v_text_bad", args: {} });
  return problems;
}

/** RFC 3339 (UTC, whole seconds) of `minutes` from `nowMs`; null for no deadline. */
export function replyBy(minutes, nowMs) {
  if (!minutes) return null;
  return new Date(nowMs + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The code's template in `lang` filled with the typed values (a preview of what the recipient reads). */
export function preview(entry, lang, typed) {
  const template = entry.template[lang] ?? entry.template.en ?? "";
  return template.replace(/\{(\w+)\}/g, (whole, name) => (typed[name] ?? "").trim() || whole);
}
