"""The transparency log's formats and proofs, read side first (issue 13).

Everything a verifier, a witness and the issuer's log share, and nothing that holds a key file
or a database:

- :mod:`~certreg.verifier.tlog.merkle`: RFC 9162 §2.1 hashing, roots, inclusion and consistency
  proofs (generation, and verification that returns a reason instead of raising).
- :mod:`~certreg.verifier.tlog.tiles`: the C2SP tlog-tiles layout (tile paths, entry bundles,
  building every tile of a tree, reading any node back from tiles).
- :mod:`~certreg.verifier.tlog.note`: C2SP signed-note (key IDs, verifier key strings, signing
  and opening notes).
- :mod:`~certreg.verifier.tlog.checkpoint`: C2SP tlog-checkpoint and tlog-cosignature/v1.
- :mod:`~certreg.verifier.tlog.proof`: C2SP tlog-proof@v1 (an entry's inclusion proof with its
  cosigned checkpoint), verified offline under a "N of these witnesses" requirement.
- :mod:`~certreg.verifier.tlog.entry`: what one entry of a body's log says (a signed certificate
  or a decision, nothing private), in one canonical form.
- :mod:`~certreg.verifier.tlog.witness`: C2SP tlog-witness add-checkpoint, the request body and
  the witness's decision (status, body, state to keep), without HTTP or storage.
"""
