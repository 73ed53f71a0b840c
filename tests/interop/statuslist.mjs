// Read a Bitstring Status List with Digital Bazaar's @digitalbazaar/vc-bitstring-status-list.
//
// stdin:  {"credential": status list credential (signed), "indexes": [0, 7, …]}
// stdout: {"length": bits in the list, "statusPurpose": "…", "bits": [bool, …] (per index),
//          "set": [every index whose bit is 1], "verified": bool, "errors": ["…"]}
//
// "verified" is DB's verifier checking the list credential's own proof.
import * as vc from '@digitalbazaar/vc';
import {decodeList} from '@digitalbazaar/vc-bitstring-status-list';
import {documentLoader, errorMessages, readInput, verifyingSuites} from './lib.mjs';

const {credential, indexes} = await readInput();
const {encodedList, statusPurpose} = credential.credentialSubject;
const list = await decodeList({encodedList});
const set = [];
for(let i = 0; i < list.length; i++) {
  if(list.getStatus(i)) {
    set.push(i);
  }
}
const result = await vc.verifyCredential({
  credential, suite: verifyingSuites(), documentLoader,
});
process.stdout.write(JSON.stringify({
  length: list.length,
  statusPurpose,
  bits: indexes.map(i => list.getStatus(i)),
  set,
  verified: result.verified,
  errors: errorMessages(result.error),
}));
