// Verify one credential file with Digital Bazaar's stack, as `certreg verify FILE` does with
// certreg's: the Node row of bench_cli_startup.py, timed from outside as a fresh process.
//
//   node bench/bench_node_verify_file.mjs FILE
//
// @digitalbazaar/vc's verifyCredential with both EdDSA cryptosuites and the offline document
// loader of tests/interop/lib.mjs (pinned contexts, did:key); prints VALID or INVALID and
// exits 0 or 1. The file must carry no credentialStatus (no status list is served here).
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const INTEROP = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'interop');
const require = createRequire(join(INTEROP, 'package.json'));
const vc = await import(pathToFileURL(require.resolve('@digitalbazaar/vc')).href);
const {documentLoader, verifyingSuites} =
  await import(pathToFileURL(join(INTEROP, 'lib.mjs')).href);

const credential = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const result = await vc.verifyCredential({credential, suite: verifyingSuites(), documentLoader});
process.stdout.write(result.verified ? 'VALID\n' : `INVALID ${result.error}\n`);
process.exitCode = result.verified ? 0 : 1;
