// The audit chain as the party sees it: every link checked, and the server's
// Ed25519 signature of each hash verified (WebCrypto) where the entry is visible.
// The server's key is pinned the first time this browser sees it (localStorage,
// per origin); signatures are verified with the pinned key, and a server that
// now shows another key is flagged (its log may have been re-signed).

const GENESIS_HASH = "0".repeat(64);
const MAX_PAGES = 50;
export const PIN_KEY = "deconflict.audit-key";

/**
 * The key to verify with: the one pinned earlier, or `pem` pinned now.
 * Returns {pem, changed}: `changed` when the server shows a key other than the pinned one.
 */
export function pinServerKey(pem, storage = globalThis.localStorage) {
  const seen = pem.trim();
  let pinned = null;
  try {
    pinned = storage.getItem(PIN_KEY);
    if (!pinned) storage.setItem(PIN_KEY, seen);
  } catch {
    return { pem: seen, changed: false }; // no storage (private mode): nothing to compare with
  }
  return pinned ? { pem: pinned, changed: pinned !== seen } : { pem: seen, changed: false };
}

function pemToDer(pem) {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

async function importKey(pem) {
  try {
    return await crypto.subtle.importKey("spki", pemToDer(pem), { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return null; // a browser without Ed25519 in WebCrypto: links are still checked
  }
}

/**
 * Read the chain page by page and check it.
 * Returns {lastSeq, links, signatures, visible, brokenAt (seq or null), recent (last visible entries)}.
 */
export async function checkAuditChain(api) {
  const result = { lastSeq: 0, links: 0, signatures: 0, visible: 0, brokenAt: null, recent: [], keyChanged: false };
  let after = 0;
  let prevHash = GENESIS_HASH;
  let key;
  for (let page = 0; page < MAX_PAGES; page++) {
    const view = await api.optional(`/v1/audit?after=${after}&limit=5000`);
    if (view.missing) return { missing: true };
    if (key === undefined) {
      const pin = pinServerKey(view.public_key_pem);
      result.keyChanged = pin.changed;
      key = await importKey(pin.pem);
    }
    for (const entry of view.entries) {
      if (entry.prev_hash !== prevHash) {
        result.brokenAt = entry.seq;
        return result;
      }
      result.links += 1;
      if (entry.visible) {
        result.visible += 1;
        result.recent.push(entry);
        if (key) {
          const signature = Uint8Array.from(atob(entry.signature), (c) => c.charCodeAt(0));
          const good = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, hexToBytes(entry.hash));
          if (!good) {
            result.brokenAt = entry.seq;
            return result;
          }
          result.signatures += 1;
        }
      }
      prevHash = entry.hash;
      result.lastSeq = entry.seq;
    }
    if (view.next_after === null || view.next_after === undefined) break;
    after = view.next_after;
  }
  result.recent = result.recent.slice(-15).reverse();
  return result;
}
