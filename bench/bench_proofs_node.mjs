// Digital Bazaar's stack signing and verifying eddsa-rdfc-2022 proofs, timed per operation:
// the Node column of bench_proofs.py's cold-shape section.
//
//   node bench/bench_proofs_node.mjs < input.json
//
// stdin:  {"key": {"publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z3u2…"},
//          "created": "2026-01-15T00:00:00Z",
//          "documents": [unsigned document, …]}      (all of one shape, each one different)
// stdout: {"sign_ms": [ms, …], "verify_ms": [ms, …], "verified": [bool, …]}
//
// Every document is signed in turn, then every signed document is verified, in this one
// process: the first figure of each list is the process's first operation (contexts parsed,
// code not yet compiled), the rest are warm. jsonld.js keeps no per-shape cache, so a warm
// operation is also what a document of a new shape costs once contexts are loaded. Signing and
// verifying go through jsonld-signatures with the proof purpose assertionMethod: the proof
// alone, as certreg's verify_proofs, not a full credential check (no status, no issuer rules).
// The modules are those of tests/interop (its node_modules and lib.mjs: the pinned contexts,
// offline did:key resolution); nothing touches the network.
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {performance} from 'node:perf_hooks';

const INTEROP = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'interop');
const require = createRequire(join(INTEROP, 'package.json'));
const load = async name => import(pathToFileURL(require.resolve(name)).href);

const jsigs = (await load('jsonld-signatures')).default;
const {documentLoader, keyPair, signingSuite, verifyingSuites} =
  await import(pathToFileURL(join(INTEROP, 'lib.mjs')).href);
const {AssertionProofPurpose} = jsigs.purposes;

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const key = await keyPair(input.key);

const signMs = [];
const signed = [];
for(const document of input.documents) {
  const start = performance.now();
  // one suite per document: a suite remembers the proof it made last
  const suite = signingSuite(key, 'eddsa-rdfc-2022', input.created);
  signed.push(await jsigs.sign(structuredClone(document), {
    suite, purpose: new AssertionProofPurpose(), documentLoader,
  }));
  signMs.push(performance.now() - start);
}

const verifyMs = [];
const verified = [];
for(const document of signed) {
  const start = performance.now();
  const result = await jsigs.verify(document, {
    suite: verifyingSuites(), purpose: new AssertionProofPurpose(), documentLoader,
  });
  verifyMs.push(performance.now() - start);
  verified.push(result.verified);
}
process.stdout.write(JSON.stringify({sign_ms: signMs, verify_ms: verifyMs, verified}));
