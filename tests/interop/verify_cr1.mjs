// Verify certreg's offline QR payloads (CR1, verifier/offline/payload.py) with code that is
// not certreg's: npm `base45` decodes the text, Node's zlib inflates it, `cose-kit` (on panva's
// `jose` and `cbor-x`) verifies the COSE_Sign1 with EdDSA (Ed25519) and the body's public key,
// and cbor-x reads the CWT claims back.
//
// stdin:  {"items": [{"qr": "CR1:...", "public_key": "<32 bytes, hex>"}, ...]}
// stdout: {"results": [{"valid": bool, "error": str|null, "alg": int, "kid": hex,
//                       "claims": {...}}, ...]}
// claims: the CWT claims as JSON (map keys as strings, byte strings as hex).
import { createRequire } from 'node:module';
import { inflateSync } from 'node:zlib';
import { importJWK } from 'jose';
import { coseVerify } from 'cose-kit';
import { Decoder } from 'cbor-x';

const require = createRequire(import.meta.url);
const base45 = require('base45');

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

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

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { items } = JSON.parse(input);
const results = [];
for (const item of items) {
  try {
    results.push(await check(item));
  } catch (error) {
    results.push({ valid: false, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify({ results }));
