// Checking a certificate's QR code with no network (issue 14): the verify page's offline check.
//
// When online, the page fetches the register's /offline.json (the body's keys and the
// addresses of its status lists) and every status list it names, and keeps them in Cache
// Storage with the time of the sync. A "CR1:" payload (scanned by scan.js, or pasted) is then
// checked here, in the browser, against what was kept: base45, zlib, COSE_Sign1 (CBOR, with the
// vendored cborg), the body's Ed25519 signature (WebCrypto), the dates, and the status bits of
// the kept lists. The verdicts are the ones of certreg.verifier.offline (docs/offline.md); every
// verdict about status is "as of" the time the lists were synced.
//
// The format is certreg.verifier.offline.payload's (read its docstring). Every word shown comes
// from the page (data-msg-* and data-label-* attributes of #offline-controls, translated with
// the page): none is written here.

import { decode as cborDecode, encode as cborEncode } from "./vendor/cborg-6.1.5/cborg.js";

const PREFIX = "CR1:";
const MAX_TEXT = 4296; // the most a QR code holds
const MAX_COSE_BYTES = 16384; // a payload is a few hundred bytes: bounds a zlib bomb
const MAX_LIST_BYTES = 1 << 20; // a status list of 131,072 entries of 2 bits is 32 KiB
const ALG_EDDSA = -8;
const CLAIM_EXP = 4;
const CLAIM_NBF = 5;
const CLAIM_IAT = 6;
const CLAIM_CERTIFICATE = -65537;
const COSE_SIGN1_TAG = 18;
const PURPOSES = ["message", "revocation", "suspension"];
const DATA_CACHE = "certreg-offline-data";
const FORMAT = "certreg-offline/1";

export class PayloadError extends Error {}

// --- encodings -------------------------------------------------------------------------------

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/** The bytes of a base45 text (RFC 9285); throws PayloadError on anything else. */
export function base45Decode(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const values = Array.from(chunk, (c) => B45.indexOf(c));
    if (chunk.length < 2 || values.includes(-1)) {
      throw new PayloadError("the payload is not valid base45 (it was cut or altered)");
    }
    const n = values[0] + values[1] * 45 + (values.length === 3 ? values[2] * 2025 : 0);
    if (values.length === 3) {
      if (n > 0xffff) {
        throw new PayloadError("the payload is not valid base45 (it was cut or altered)");
      }
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) {
        throw new PayloadError("the payload is not valid base45 (it was cut or altered)");
      }
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** The bytes of a base58btc text (the alphabet of multibase 'z'). */
export function base58Decode(text) {
  const bytes = []; // little-endian while it is built
  for (const c of text) {
    let carry = B58.indexOf(c);
    if (carry < 0) {
      throw new Error("not base58");
    }
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (let i = 0; i < text.length && text[i] === "1"; i++) {
    bytes.push(0); // each leading "1" is a leading zero byte
  }
  return Uint8Array.from(bytes.reverse());
}

/** The raw 32 bytes of an Ed25519 Multikey ("z6Mk...": multicodec 0xed 0x01, then the key). */
export function ed25519FromMultibase(value) {
  if (typeof value !== "string" || !value.startsWith("z")) {
    return null;
  }
  let bytes;
  try {
    bytes = base58Decode(value.slice(1));
  } catch (error) {
    return null;
  }
  if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) {
    return null;
  }
  return bytes.slice(2);
}

function base64urlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** ``bytes`` decompressed with DecompressionStream(``format``), at most ``limit`` bytes. */
export async function inflate(bytes, format, limit) {
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new PayloadError("the payload decompresses to more than a certificate ever holds");
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

// --- the payload -----------------------------------------------------------------------------

function cbor(bytes, what) {
  const tags = [];
  tags[COSE_SIGN1_TAG] = (decodeInner) => ({ coseSign1: decodeInner() });
  try {
    return cborDecode(bytes, { useMaps: true, tags: tags, rejectDuplicateMapKeys: true });
  } catch (error) {
    throw new PayloadError(what + " is not well-formed CBOR");
  }
}

function need(ok, reason) {
  if (!ok) {
    throw new PayloadError(reason);
  }
}

const isText = (v) => typeof v === "string";
const isInt = (v) => Number.isInteger(v);
const isBytes = (v) => v instanceof Uint8Array;

function certificateOf(claims) {
  need(claims instanceof Map, "the payload's claims are not a map");
  const body = claims.get(CLAIM_CERTIFICATE);
  need(body instanceof Map, "the payload carries no certificate");
  const scheme = body.get(3);
  need(Array.isArray(scheme) && scheme.length === 3 && scheme.every(isText), "the payload's scheme is not readable");
  const scope = body.get(4);
  need(Array.isArray(scope) && scope.length > 0, "the payload's certificate has no scope item");
  const items = scope.map((item) => {
    need(Array.isArray(item) && item.length >= 1 && item.length <= 3, "a scope item of the payload is not readable");
    const [code, label = null, conditions = null] = item;
    need(isText(code) && (label === null || isText(label)) && (conditions === null || isText(conditions)), "a scope item of the payload is not readable");
    return { code, label, conditions };
  });
  const status = body.has(5) ? body.get(5) : [];
  need(Array.isArray(status), "the payload's status is not a list");
  const entries = status.map((entry) => {
    need(Array.isArray(entry) && entry.length === 4, "a status entry of the payload is not readable");
    const [purpose, list, index, size] = entry;
    need(isInt(purpose) && purpose >= 0 && purpose < PURPOSES.length, "a status entry of the payload has an unknown purpose");
    need(isText(list) && isInt(index) && index >= 0 && isInt(size) && size >= 1 && size <= 8, "a status entry of the payload is not readable");
    return { purpose: PURPOSES[purpose], list, index, size };
  });
  for (const claim of [CLAIM_EXP, CLAIM_NBF, CLAIM_IAT]) {
    need(isInt(claims.get(claim)), "the payload's dates are not readable");
  }
  const name = body.get(1);
  const number = body.get(2);
  need(isText(name) && isText(number), "the payload's holder or number is not text");
  return {
    holderName: name,
    number: number,
    schemeCode: scheme[0],
    schemeVersion: scheme[1],
    schemeName: scheme[2],
    scope: items,
    validFrom: new Date(claims.get(CLAIM_NBF) * 1000),
    validUntil: new Date(claims.get(CLAIM_EXP) * 1000),
    issuedAt: new Date(claims.get(CLAIM_IAT) * 1000),
    status: entries,
  };
}

/** A CR1 text parsed, not yet verified: {certificate, kid, protected, payload, signature}. */
export async function decodePayload(text) {
  need(typeof text === "string", "the payload is not text");
  text = text.trim();
  need(text.length <= MAX_TEXT, "the text is longer than any QR code holds");
  need(text.startsWith(PREFIX), "this is not a certreg certificate payload (it does not start CR1:)");
  const compressed = base45Decode(text.slice(PREFIX.length));
  let cose;
  try {
    cose = await inflate(compressed, "deflate", MAX_COSE_BYTES);
  } catch (error) {
    if (error instanceof PayloadError) {
      throw error;
    }
    throw new PayloadError("the payload does not decompress (it was cut or altered)");
  }
  let outer = cbor(cose, "the payload");
  if (outer && outer.coseSign1 !== undefined) {
    outer = outer.coseSign1;
  }
  need(Array.isArray(outer) && outer.length === 4, "the payload is not a COSE_Sign1 signed object");
  const [protectedBytes, unprotected, payload, signature] = outer;
  need(isBytes(protectedBytes) && isBytes(payload) && isBytes(signature) && unprotected instanceof Map, "the payload is not a COSE_Sign1 signed object");
  const header = cbor(protectedBytes, "the payload's protected header");
  need(header instanceof Map && header.get(1) === ALG_EDDSA, "the payload is not signed with EdDSA (Ed25519)");
  const kid = header.get(4);
  need(isBytes(kid) && kid.length === 8, "the payload does not name its key");
  need(signature.length === 64, "the payload's signature is not an Ed25519 signature");
  const certificate = certificateOf(cbor(payload, "the payload's claims"));
  return { certificate, kid, protected: protectedBytes, payload, signature };
}

/** The Sig_structure the signature covers (RFC 9052 §4.4), encoded with cborg. */
export function sigStructure(protectedBytes, payload) {
  return cborEncode(["Signature1", protectedBytes, new Uint8Array(0), payload]);
}

async function keyId(raw) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return hex(digest.slice(0, 8));
}

async function signatureIsGood(raw, signed) {
  try {
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signed.signature, sigStructure(signed.protected, signed.payload));
  } catch (error) {
    return false;
  }
}

function absoluteList(ref, publicUrl) {
  return ref.includes("://") ? ref : publicUrl.replace(/\/+$/, "") + "/" + ref;
}

/** The status value of entry ``index`` (``size`` bits) of a status list's bitstring. */
export function statusBits(bits, index, size) {
  if ((index + 1) * size > bits.length * 8) {
    return null;
  }
  let value = 0;
  for (let b = 0; b < size; b++) {
    const bit = index * size + b;
    value = (value << 1) | ((bits[bit >> 3] >> (7 - (bit & 7))) & 1);
  }
  return value;
}

async function listBits(credential) {
  const subjects = [].concat(credential && credential.credentialSubject ? credential.credentialSubject : []);
  const encoded = subjects.map((s) => s && s.encodedList).find(isText);
  if (!encoded || !encoded.startsWith("u")) {
    return null;
  }
  return inflate(base64urlDecode(encoded.slice(1)), "gzip", MAX_LIST_BYTES);
}

/**
 * The verdict on a CR1 text against the kept data ``state`` (see sync()): {verdict, asOf,
 * certificate, body, reason}. Verdicts: VALID, SUSPENDED, WITHDRAWN, EXPIRED, NOT_YET_VALID,
 * INVALID, UNREADABLE (not a payload), UNKNOWN_BODY, UNKNOWN_STATUS.
 */
export async function verifyPayload(text, state, now = new Date()) {
  let signed;
  try {
    signed = await decodePayload(text);
  } catch (error) {
    if (error instanceof PayloadError) {
      return { verdict: "UNREADABLE", reason: error.message };
    }
    throw error;
  }
  const kid = hex(signed.kid);
  let found = null;
  for (const site of state ? state.sites : []) {
    for (const key of site.data.keys || []) {
      const raw = ed25519FromMultibase(key.publicKeyMultibase);
      if (raw !== null && (await keyId(raw)) === kid) {
        found = { site, key, raw };
      }
    }
  }
  const certificate = signed.certificate;
  if (found === null) {
    return { verdict: "UNKNOWN_BODY", certificate: null };
  }
  const body = found.site.data.body || {};
  const facts = { verdict: "INVALID", certificate: null, body };
  if (!(await signatureIsGood(found.raw, signed))) {
    return facts;
  }
  if (found.key.revoked && new Date(found.key.revoked) <= certificate.issuedAt) {
    return { ...facts, reason: "revoked-key" };
  }
  const shown = { certificate, body, site: found.site };
  let worst = "VALID";
  let asOf = null;
  const rank = { VALID: 0, UNKNOWN_STATUS: 1, SUSPENDED: 2, WITHDRAWN: 3 };
  for (const entry of certificate.status) {
    const kept = found.site.lists[absoluteList(entry.list, body.public_url || "")];
    let verdict = "UNKNOWN_STATUS";
    if (kept) {
      asOf = asOf === null || kept.synced < asOf ? kept.synced : asOf;
      const bits = await listBits(kept.credential).catch(() => null);
      const value = bits === null ? null : statusBits(bits, entry.index, entry.size);
      if (value === 0) {
        verdict = "VALID";
      } else if (value !== null) {
        const suspended = entry.purpose === "suspension" || (entry.purpose === "message" && value === 1);
        verdict = suspended ? "SUSPENDED" : "WITHDRAWN";
      }
    }
    if (rank[verdict] > rank[worst]) {
      worst = verdict;
    }
  }
  asOf = asOf || found.site.synced;
  // The order of certreg verify --offline (docs/offline.md): a decision of the body (withdrawn,
  // suspended) before the dates, the dates before an unknown status.
  if (worst === "WITHDRAWN" || worst === "SUSPENDED") {
    return { ...shown, verdict: worst, asOf };
  }
  if (certificate.validFrom > now) {
    return { ...shown, verdict: "NOT_YET_VALID" };
  }
  if (certificate.validUntil < now) {
    return { ...shown, verdict: "EXPIRED" };
  }
  return { ...shown, verdict: worst, asOf };
}

// --- syncing ---------------------------------------------------------------------------------

async function loadState(offlineUrl) {
  const cache = await caches.open(DATA_CACHE);
  const kept = await cache.match(offlineUrl);
  const site = kept ? await kept.json() : null;
  return { sites: site ? [site] : [] };
}

async function saveState(offlineUrl, site) {
  const cache = await caches.open(DATA_CACHE);
  const response = new Response(JSON.stringify(site), { headers: { "Content-Type": "application/json" } });
  await cache.put(offlineUrl, response);
}

// Where this page fetches a status list of the body: this site's copy when the list is under
// the body's public address (the register serves the same files), else the list's own address
// when it is on this site; null when it is elsewhere (this page fetches from its own site only).
function fetchAddress(url, publicUrl, root) {
  const base = (publicUrl || "").replace(/\/+$/, "") + "/";
  if (publicUrl && url.startsWith(base)) {
    return new URL(root + url.slice(base.length), location.href).href;
  }
  try {
    return new URL(url).origin === location.origin ? url : null;
  } catch (error) {
    return null;
  }
}

/** Fetch /offline.json and its status lists, keep them; the kept state after (even on failure). */
export async function sync(offlineUrl, root) {
  const previous = (await loadState(offlineUrl)).sites[0] || null;
  const response = await fetch(offlineUrl, { cache: "no-store" });
  if (!response.ok) {
    throw new Error("offline.json: HTTP " + response.status);
  }
  const data = await response.json();
  if (!data || data.format !== FORMAT || !Array.isArray(data.keys)) {
    throw new Error("offline.json is not " + FORMAT);
  }
  const now = new Date().toISOString();
  const lists = {};
  const publicUrl = data.body ? data.body.public_url : "";
  for (const url of data.status_lists || []) {
    const address = fetchAddress(url, publicUrl, root);
    try {
      if (address === null) {
        throw new Error("elsewhere");
      }
      const list = await fetch(address, { cache: "no-store" });
      if (!list.ok) {
        throw new Error("HTTP " + list.status);
      }
      lists[url] = { synced: now, credential: await list.json() };
    } catch (error) {
      if (previous && previous.lists[url]) {
        lists[url] = previous.lists[url]; // kept, with the time it was synced
      }
    }
  }
  const site = { synced: now, data: data, lists: lists };
  await saveState(offlineUrl, site);
  return { sites: [site] };
}

// --- the page --------------------------------------------------------------------------------

function page() {
  const box = document.getElementById("offline-controls");
  if (!box || !window.caches || !window.DecompressionStream || !window.crypto || !crypto.subtle) {
    return;
  }
  const data = box.dataset;
  const root = data.root || "/";
  const offlineUrl = new URL(data.offlineUrl, location.href).href;
  const syncLine = document.getElementById("offline-sync");
  const button = document.getElementById("offline-check");
  const input = document.getElementById("offline-text");
  const result = document.getElementById("offline-result");
  const lang = document.documentElement.lang || undefined;
  let state = { sites: [] };

  box.hidden = false;

  function words(text, values) {
    let out = text || "";
    for (const [name, value] of Object.entries(values || {})) {
      out = out.split("%(" + name + ")s").join(value);
    }
    return out;
  }
  const when = (iso) => new Date(iso).toLocaleString(lang, { dateStyle: "medium", timeStyle: "medium" });
  const day = (date) => date.toLocaleDateString(lang, { dateStyle: "long", timeZone: "UTC" });

  function showSync(status) {
    const site = state.sites[0];
    syncLine.textContent = site ? words(data.msgSynced, { time: when(site.synced) }) : data.msgNoData;
    box.dataset.syncState = status;
  }

  async function refresh() {
    box.dataset.syncState = "syncing";
    try {
      state = await sync(offlineUrl, root);
      showSync("done");
    } catch (error) {
      state = await loadState(offlineUrl);
      showSync("failed");
    }
  }

  function add(list, label, value) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function show(outcome) {
    result.replaceChildren();
    const headline = document.createElement("p");
    const css = {
      VALID: "valid", SUSPENDED: "suspended", WITHDRAWN: "withdrawn", EXPIRED: "expired",
      NOT_YET_VALID: "not_yet_valid", INVALID: "invalid", UNREADABLE: "invalid",
      UNKNOWN_BODY: "unknown", UNKNOWN_STATUS: "status_unknown",
    }[outcome.verdict];
    headline.className = "status " + css;
    const cert = outcome.certificate;
    const message = {
      VALID: data.msgValid, SUSPENDED: data.msgSuspended, WITHDRAWN: data.msgWithdrawn,
      EXPIRED: data.msgExpired, NOT_YET_VALID: data.msgNotYetValid,
      INVALID: outcome.reason === "revoked-key" ? data.msgRevokedKey : data.msgInvalid,
      UNREADABLE: data.msgUnreadable, UNKNOWN_BODY: data.msgUnknownBody,
      UNKNOWN_STATUS: data.msgUnknownStatus,
    }[outcome.verdict];
    headline.textContent = words(message, {
      time: outcome.asOf ? when(outcome.asOf) : "",
      expiry: cert ? day(cert.validUntil) : "",
      effective: cert ? day(cert.validFrom) : "",
    });
    result.append(headline);
    if (!cert) {
      return;
    }
    const facts = document.createElement("dl");
    facts.className = "facts";
    add(facts, data.labelHolder, cert.holderName);
    add(facts, data.labelNumber, cert.number);
    add(facts, data.labelCertification, words(data.labelScheme, { name: cert.schemeName, code: cert.schemeCode, version: cert.schemeVersion }));
    if (outcome.body && outcome.body.name) {
      add(facts, data.labelIssuedBy, outcome.body.name);
    }
    add(facts, data.labelFrom, day(cert.validFrom));
    add(facts, data.labelUntil, day(cert.validUntil));
    const schemes = (outcome.site && outcome.site.data.schemes) || [];
    const scheme = schemes.find((s) => s.code === cert.schemeCode && s.version === cert.schemeVersion) || schemes.find((s) => s.code === cert.schemeCode);
    const scope = document.createElement("ul");
    for (const item of cert.scope) {
      const li = document.createElement("li");
      const label = item.label || (scheme && scheme.scope && scheme.scope[item.code]) || item.code;
      li.textContent = label + (item.conditions ? " — " + words(data.labelConditions, { conditions: item.conditions }) : "");
      scope.append(li);
    }
    const scopeTitle = document.createElement("h3");
    scopeTitle.textContent = data.labelScope;
    result.append(facts, scopeTitle, scope);
  }

  async function check(text) {
    result.replaceChildren();
    box.dataset.checkState = "checking";
    show(await verifyPayload(text, state));
    box.dataset.checkState = "done";
  }

  // A button, not a form: nothing is ever sent, and the page's other form keeps its own submit.
  button.addEventListener("click", () => check(input.value));
  // A payload the scanner read (static/scan.js) is checked here.
  document.addEventListener("certreg:payload", (event) => {
    input.value = event.detail;
    check(event.detail);
  });
  window.addEventListener("online", refresh);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root + "sw.js", { scope: root }).catch(() => {});
  }
  loadState(offlineUrl).then((kept) => {
    state = kept;
    showSync("kept");
    refresh();
  });
}

if (typeof document !== "undefined") {
  page();
}
