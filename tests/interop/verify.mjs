// Verify credentials with Digital Bazaar's @digitalbazaar/vc (both EdDSA cryptosuites).
//
// stdin:  {"credentials": [signed credential, …],
//          "documents": {"https://…/list": status list credential, …}}    (optional)
// stdout: {"results": [{"verified": bool, "errors": ["…"], "status": [bool, …]}, …]}
//
// A credential with credentialStatus is checked with @digitalbazaar/vc-bitstring-status-list,
// which loads the list credential from "documents" (never from the network), verifies its
// proof and checks that its issuer is the credential's; "status" holds each entry's bit.
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {documentLoader, errorMessages, readInput, verifyingSuites} from './lib.mjs';

const input = await readInput();
const results = [];
for(const credential of input.credentials) {
  const result = await vc.verifyCredential({
    credential, suite: verifyingSuites(), documentLoader, checkStatus,
  });
  const errors = errorMessages(result.error);
  // a failed status check leaves its reason in statusResult, not in result.error
  errors.push(...errorMessages(result.statusResult?.error));
  results.push({
    verified: result.verified,
    errors,
    status: result.statusResult?.results?.map(r => r.status) ?? [],
  });
}
process.stdout.write(JSON.stringify({results}));
