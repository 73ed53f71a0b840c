"""``certreg witness``: a C2SP tlog-witness that another party runs for a body's log (issue 13).

An accreditation body or a peer body keeps, per log it witnesses, the last checkpoint it
cosigned, and cosigns a new one only when a consistency proof links the two: a log that forked
(two trees of the same size) or rewrote its history is refused, and says so.

- :mod:`~certreg.witness.store`: ``witness.db`` (the sealed cosigning key, the logs and their
  keys, the latest cosigned checkpoint per log), and the decision made in one transaction.
- :mod:`~certreg.witness.http`: ``POST /add-checkpoint`` on FastAPI.
- :mod:`~certreg.witness.cli`: ``certreg witness init | add-log | key | logs | serve``.

The decision itself is :func:`certreg.verifier.tlog.witness.add_checkpoint`; the log's side of
the protocol (submitting, collecting cosignatures) is :mod:`certreg.verifier.tlog.submit`. This
package imports the verifier and keys only, never the issuer or the register (an import-linter
contract): a witness holds no body's data.
"""
