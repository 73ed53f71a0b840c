// Shared set-up for the interop scripts: an offline document loader and the Data Integrity
// suites of Digital Bazaar's stack. Nothing here touches the network.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {
  createSignCryptosuite as jcsSign,
  createVerifyCryptosuite as jcsVerify,
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';

// certreg's pinned contexts: contexts/files/index.json maps each URL to a file.
const FILES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contexts', 'files');
const PINNED = new Map(
  JSON.parse(readFileSync(join(FILES, 'index.json'), 'utf8')).map(({url, file}) => [
    url, JSON.parse(readFileSync(join(FILES, file), 'utf8')),
  ]));

// did:key resolution, offline: the driver derives the DID document from the key itself.
const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

// Extra documents given on stdin as {"documents": {url: document}}: status list credentials,
// and in tests the W3C example context of the spec's sample credential (see serveInput()).
const EXTRA = new Map();

/** Serve the input's "documents" through documentLoader, by URL. */
export function serveInput(input) {
  for(const [url, document] of Object.entries(input.documents ?? {})) {
    EXTRA.set(url, document);
  }
}

/** jsonld / jsonld-signatures document loader: pinned contexts, did:key, served
 * documents; every other URL is refused, so nothing is ever fetched. */
export async function documentLoader(url) {
  const known = PINNED.get(url) ?? EXTRA.get(url);
  if(known) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(known)};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKey.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  throw new Error(`refused to load ${url}: not a pinned context, did:key or served document`);
}

/** A key pair from certreg's multibase strings, or a new one when none is given. The
 * key's id is its did:key verification method, its controller the did:key DID. */
export async function keyPair({publicKeyMultibase, secretKeyMultibase} = {}) {
  if(!secretKeyMultibase) {
    ({publicKeyMultibase, secretKeyMultibase} = await Ed25519Multikey.generate());
  }
  const controller = `did:key:${publicKeyMultibase}`;
  const id = `${controller}#${publicKeyMultibase}`;
  return Ed25519Multikey.from({id, controller, publicKeyMultibase, secretKeyMultibase});
}

/** A DataIntegrityProof suite that signs with `key` using `cryptosuite`. */
export function signingSuite(key, cryptosuite, date) {
  const suite = cryptosuite === 'eddsa-jcs-2022' ? jcsSign() : rdfcSuite;
  return new DataIntegrityProof({signer: key.signer(), cryptosuite: suite, date});
}

/** Suites that verify either EdDSA cryptosuite (the proof's `cryptosuite` selects one). */
export function verifyingSuites() {
  return [
    new DataIntegrityProof({cryptosuite: rdfcSuite}),
    new DataIntegrityProof({cryptosuite: jcsVerify()}),
  ];
}

/** Read all of stdin as JSON and serve its "documents". */
export async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  serveInput(input);
  return input;
}

/** Errors as plain strings (jsonld-signatures nests them). */
export function errorMessages(error) {
  if(!error) {
    return [];
  }
  const list = Array.isArray(error) ? error : [error];
  return list.flatMap(e => {
    const nested = e?.errors ?? (e?.cause ? [e.cause] : []);
    return [String(e?.message ?? e), ...errorMessages(nested)];
  });
}
