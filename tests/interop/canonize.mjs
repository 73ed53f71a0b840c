// Canonical forms as Digital Bazaar's cryptosuites compute them, to compare byte for byte
// with certreg's (verifier/canonicalize.py).
//
// stdin:  {"inputs": [JSON-LD document, …]}
// stdout: {"results": [{"rdfc": N-Quads | null, "rdfcError": "…" | null,
//                       "jcs": JSON text | null, "jcsError": "…" | null}, …]}
//
// rdfc is eddsa-rdfc-2022's canonize (jsonld safe mode, RDFC-1.0); jcs is eddsa-jcs-2022's.
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {documentLoader, readInput} from './lib.mjs';

const jcsSuite = createVerifyCryptosuite();
const {inputs} = await readInput();
const results = [];
for(const document of inputs) {
  const result = {rdfc: null, rdfcError: null, jcs: null, jcsError: null};
  try {
    result.rdfc = await rdfcSuite.canonize(document, {documentLoader});
  } catch(e) {
    result.rdfcError = String(e?.message ?? e);
  }
  try {
    result.jcs = await jcsSuite.canonize(document);
  } catch(e) {
    result.jcsError = String(e?.message ?? e);
  }
  results.push(result);
}
process.stdout.write(JSON.stringify({results}));
