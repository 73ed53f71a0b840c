// Verify credentials with the Digital Credentials Consortium's verifier-core, the verifier of
// the Learner Credential Wallet (@digitalcredentials/verifier-core), exactly as a wallet calls
// it: verifyCredential({credential, knownDIDRegistries}).
//
// stdin:  {"credentials": [signed credential, …],
//          "documents": {"https://…": JSON document, …}}   (status lists, JSON Schemas)
// stdout: {"results": [{"errors": [{name, message}] | null, "log": [{id, valid}],
//                       "schema": [{schema, valid, errors}] | "NO_SCHEMA" | …,
//                       "verified": bool}, …],
//          "fetched": [every URL verifier-core asked for], "refused": [those not served]}
//
// verifier-core takes no document loader: its own (security-document-loader) carries the
// VC, Data Integrity and Open Badges contexts and resolves did:key offline, and fetches
// anything else (status list credentials, did:web documents, the Open Badges JSON Schema)
// with the global fetch(). So the hook is fetch itself: it is replaced, before verifier-core
// is imported, by one that answers only with the documents given on stdin and refuses every
// other URL. Nothing reaches the network, and "refused" shows what would have been fetched.
//
// "verified" is this script's summary, not verifier-core's (it leaves the verdict to its
// caller): no fatal error, and every log step valid except registered_issuer (a test issuer
// is in no DCC registry).
import {readInput} from './lib.mjs';

const input = await readInput();
const served = new Map(Object.entries(input.documents ?? {}));
const fetched = [];
const refused = [];

globalThis.fetch = async (resource, _options) => {
  const url = typeof resource === 'string' ? resource : (resource.url ?? String(resource));
  fetched.push(url);
  if(served.has(url)) {
    return new Response(JSON.stringify(served.get(url)), {
      status: 200,
      headers: {'content-type': 'application/json'},
    });
  }
  refused.push(url);
  throw new TypeError(`offline: refused to fetch ${url}`);
};

const {verifyCredential} = await import('@digitalcredentials/verifier-core');

// verifier-core's schema check logs a failed fetch on the console; keep stdout JSON only.
console.log = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.error = console.log;

const results = [];
for(const credential of input.credentials) {
  const result = await verifyCredential({credential, knownDIDRegistries: []});
  const log = (result.log ?? []).map(step => ({
    id: step.id,
    valid: step.valid,
    ...(step.error ? {error: step.error} : {}),
  }));
  const schemaEntry = (result.additionalInformation ?? []).find(
    entry => entry.id === 'schema_check');
  let schema = schemaEntry ? schemaEntry.results : null;
  if(Array.isArray(schema)) {
    schema = schema.map(({schema: url, result: {valid, errors}}) => ({
      schema: url,
      valid,
      errors: (errors ?? []).map(e => `${e.instancePath} ${e.message}`),
    }));
  }
  const errors = result.errors ?
    result.errors.map(({name, message}) => ({name, message})) : null;
  const verified = !errors && log.length > 0 && log.every(
    step => step.id === 'registered_issuer' || step.valid === true);
  results.push({errors, log, schema, verified});
}
process.stdout.write(JSON.stringify({results, fetched, refused}));
