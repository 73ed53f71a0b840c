// Verify certreg's offline QR payloads (CR1, verifier/offline/payload.py) with code that is
// not certreg's: npm `base45` decodes the text, Node's zlib inflates it, `cose-kit` (on panva's
// `jose` and `cbor-x`) verifies the COSE_Sign1 with EdDSA (Ed25519) and the body's public key,
// and cbor-x reads the CWT claims back.
//
// stdin:  {"items": [{"qr": "CR1:...", "public_key": "<32 bytes, hex>"}, ...]}
// stdout: {"results": [{"valid": bool, "error": str|null, "alg": int, "kid": hex,
//                       "claims": {...}}, ...]}
// claims: the CWT claims as JSON (map keys as strings, byte strings as hex).
//
// Batch verdicts (many texts, one process: bench/check_offline_demo.py and its test): with
// "body" in the input, each item needs only "qr", and each result also has "verdict", as a
// verifier with no network would say it, decided here from the input alone:
//
//   "body": {"keys": [<public key, hex>, ...], "public_url": "http://...",
//            "lists": {<status list URL>: <status list credential, as fetched>},
//            "status_messages": [{"status": "0x1", "message": "suspended"}, ...],
//            "now": "<ISO instant>"}
//
// The key is the one whose kid (first 8 bytes of its SHA-256) the payload names, else
// UNKNOWN_BODY; a bad signature is INVALID; then the dates and each status entry's bits, read
// with Digital Bazaar's `@digitalbazaar/vc-bitstring-status-list` from the list credential,
// whose own proof `@digitalbazaar/vc` verifies first (a list that does not verify is as good
// as none: UNKNOWN_STATUS). A 2-bit "message" value means what the
// certificate's statusMessage says ("suspended", "withdrawn"); a set revocation bit WITHDRAWN,
// a set suspension bit SUSPENDED. The worst verdict wins, in the order of docs/offline.md's
// table: WITHDRAWN, SUSPENDED, then EXPIRED, NOT_YET_VALID, then UNKNOWN_STATUS, VALID.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { importJWK } from 'jose';
import { coseVerify } from 'cose-kit';
import { Decoder } from 'cbor-x';
import * as vc from '@digitalbazaar/vc';
import { decodeList } from '@digitalbazaar/vc-bitstring-status-list';
import { documentLoader, serveInput, verifyingSuites } from './lib.mjs';

const require = createRequire(import.meta.url);
const base45 = require('base45');

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const PURPOSES = ['message', 'revocation', 'suspension'];
const CERTIFICATE = '-65537';

function plain(value) {
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

async function check({ qr, public_key }) {
  if (!qr.startsWith('CR1:')) return { valid: false, error: 'no CR1: prefix' };
  const compressed = base45.decode(qr.slice(4));
  const cose = inflateSync(compressed);
  const key = await importJWK(
    { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(public_key, 'hex').toString('base64url') },
    'EdDSA',
  );
  const { isValid, decoded } = await coseVerify(cose, key);
  return {
    valid: isValid,
    error: null,
    alg: decoded.alg,
    kid: Buffer.from(decoded.kid ?? []).toString('hex'),
    claims: plain(decoder.decode(decoded.payload)),
  };
}

/** Each list URL -> its decoded list, or null when its credential does not verify. */
async function readLists(lists) {
  serveInput({ documents: lists });
  const out = new Map();
  for (const [url, credential] of Object.entries(lists)) {
    const result = await vc.verifyCredential({ credential, suite: verifyingSuites(), documentLoader });
    const ok = result.verified && credential.id === url;
    out.set(url, ok ? await decodeList({ encodedList: credential.credentialSubject.encodedList }) : null);
  }
  return out;
}

function statusVerdict(entry, lists, body) {
  const [purposeIndex, ref, index, size] = entry;
  const url = ref.includes('://') ? ref : `${body.public_url.replace(/\/+$/, '')}/${ref}`;
  const list = lists.get(url);
  if (!list) return 'UNKNOWN_STATUS';
  let value = 0;
  for (let b = 0; b < size; b++) value = (value << 1) | (list.getStatus(index * size + b) ? 1 : 0);
  if (value === 0) return 'VALID';
  const purpose = PURPOSES[purposeIndex];
  if (purpose === 'message') {
    const hex = `0x${value.toString(16)}`;
    const said = (body.status_messages ?? []).find((m) => m.status === hex)?.message;
    return said === 'suspended' ? 'SUSPENDED' : said === 'withdrawn' ? 'WITHDRAWN' : 'UNKNOWN_STATUS';
  }
  return purpose === 'revocation' ? 'WITHDRAWN' : 'SUSPENDED';
}

const RANK = ['VALID', 'UNKNOWN_STATUS', 'SUSPENDED', 'WITHDRAWN'];

async function verdict(qr, body, keys, lists) {
  // cose-kit reads the kid while it checks the signature: the first key tried tells which
  // key the payload names (a body has one key, or a few after rotations).
  const [firstKey] = keys.values();
  if (firstKey === undefined) return { verdict: 'UNKNOWN_BODY' };
  const first = await check({ qr, public_key: firstKey });
  if (first.error) return { ...first, verdict: 'INVALID' };
  const public_key = keys.get(first.kid);
  if (!public_key) return { ...first, valid: false, verdict: 'UNKNOWN_BODY' };
  const result = public_key === firstKey ? first : await check({ qr, public_key });
  if (!result.valid) return { ...result, verdict: 'INVALID' };
  const claims = result.claims;
  const now = Date.parse(body.now) / 1000;
  const cert = claims[CERTIFICATE];
  const facts = { ...result, number: cert['2'] };
  let worst = 'VALID';
  for (const entry of cert['5'] ?? []) {
    const got = statusVerdict(entry, lists, body);
    if (RANK.indexOf(got) > RANK.indexOf(worst)) worst = got;
  }
  // A decision of the body (withdrawn, suspended) says more than the date: it comes first.
  if (worst === 'WITHDRAWN' || worst === 'SUSPENDED') return { ...facts, verdict: worst };
  if (claims['5'] > now) return { ...facts, verdict: 'NOT_YET_VALID' };
  if (claims['4'] < now) return { ...facts, verdict: 'EXPIRED' };
  return { ...facts, verdict: worst };
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { items, body } = JSON.parse(input);
const results = [];
const keys = new Map(
  (body?.keys ?? []).map((k) => [createHash('sha256').update(Buffer.from(k, 'hex')).digest('hex').slice(0, 16), k]),
);
const lists = body ? await readLists(body.lists ?? {}) : null;
for (const item of items) {
  try {
    results.push(body ? await verdict(item.qr, body, keys, lists) : await check(item));
  } catch (error) {
    results.push({ valid: false, verdict: body ? "INVALID" : undefined, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify({ results }));
