"""Where a bulk signing worker's CPU goes, step by step, per certificate.

    .venv/bin/python bench/bench_sign_steps.py [--rows 1000] [--rounds 2]

Runs ``issue_csv`` once on a fresh body (signing inline, ``workers=0``) to get the exact tasks
its workers receive, then repeats the steps of ``issuer.bulk._sign_chunk`` over them, timing
each with ``time.thread_time`` (CPU, not wall: the machine is shared): building the
credential, ``add_proof`` (and, inside it, the check that the document is in compact form,
which includes the analysis of the document and proof configuration that RDFC-1.0 then reuses),
its issued form, the offline QR payload, what the transparency log says of it (its hash), and
the JSON text issuer.db stores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issue import PASSPHRASE, make_body, write_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import certreg.issuer.bulk as bulk
    import certreg.verifier.dataintegrity as dataintegrity
    from certreg.issuer.credential import ScopeItem, certification_credential, issued_form
    from certreg.issuer.logwriter import logged_facts
    from certreg.issuer.offline_qr import payload_for
    from certreg.issuer.service import CertificationBody
    from certreg.verifier.issuing import add_proof

    captured: list[tuple[Any, Any]] = []
    sign_chunk = bulk._sign_chunk

    def capture(schemes: Any, tasks: Any) -> Any:
        captured.append((schemes, tasks))
        return sign_chunk(schemes, tasks)

    bulk._sign_chunk = capture  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ids = make_body(folder)
        write_csv(folder / "grants.csv", args.rows, ids["examiner"], "P")
        body = CertificationBody.open(folder / "cb", passphrase=PASSPHRASE)
        bulk.issue_csv(body, folder / "grants.csv", decided_by=ids["decider"], workers=0)
    bulk._sign_chunk = sign_chunk  # type: ignore[assignment]
    signer, credential_body, suite = bulk._worker_signer, bulk._worker_body, bulk._worker_suite
    assert signer is not None and credential_body is not None

    steps = ["build", "add_proof", "issued_form", "offline QR payload", "log hash", "json text"]
    seconds = dict.fromkeys(steps, 0.0)
    compact = 0.0
    check = dataintegrity._compact_form_problem

    def timed_check(*a: Any) -> Any:
        nonlocal compact
        tick = time.thread_time()
        try:
            return check(*a)
        finally:
            compact += time.thread_time() - tick

    dataintegrity._compact_form_problem = timed_check  # type: ignore[assignment]
    count = 0
    for _ in range(args.rounds):
        for schemes, tasks in captured:
            for credential_id, holder, number, scheme, scope, start, until, entries in tasks:
                t0 = time.thread_time()
                unsigned = certification_credential(
                    body=credential_body,
                    scheme=schemes[scheme],
                    holder_name=holder,
                    certificate_number=number,
                    scope=[ScopeItem(*item) for item in scope],
                    valid_from=start,
                    valid_until=until,
                    status_entries=entries,
                    credential_id=credential_id,
                )
                t1 = time.thread_time()
                proved = add_proof(unsigned, signer, cryptosuite=suite)
                t2 = time.thread_time()
                signed = issued_form(proved)
                t3 = time.thread_time()
                payload_for(signed, signer, credential_body.url or "")
                t4 = time.thread_time()
                logged_facts(signed)
                t5 = time.thread_time()
                json.dumps(signed, ensure_ascii=False)
                t6 = time.thread_time()
                for step, spent in zip(
                    steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True
                ):
                    seconds[step] += spent
                count += 1
    total = sum(seconds.values())
    print(f"{count} credentials: {1000 * total / count:.3f} ms of CPU each")
    for step in steps:
        share = 100 * seconds[step] / total
        print(f"  {step:20s} {1000 * seconds[step] / count:.3f} ms  {share:3.0f}%")
        if step == "add_proof":
            share = 100 * compact / total
            print(f"    compact-form check {1000 * compact / count:.3f} ms  {share:3.0f}%")


if __name__ == "__main__":
    main()
