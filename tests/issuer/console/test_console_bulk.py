"""Bulk issuance in the console (issue 11, item 2), over HTTP: upload a CSV, see each bad
row before anything is signed, confirm, the run in the background, the result and its CSV,
re-uploading the same file, resuming an interrupted job, and who may do it."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from pathlib import Path

import httpx
import pyotp
from console_support import CODES, PASSWORD, SECRET, Env, Person, csrf_of
from factories import HEADER, add_staff, free_port, make_body, row
from http_support import serve_subprocess, stop_subprocess, wait_serving

from certreg.issuer.bulk import issue_csv
from certreg.issuer.console import accounts
from certreg.issuer.console import bulk as console_bulk
from certreg.issuer.register_push import attach, register_path_for

JOB = re.compile(r"/console/bulk/([0-9a-f]{16})$")
#: What a run may take at most before the test gives up on it.
RUN_LIMIT_SECONDS = 120


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(person: Person, content: bytes, name: str = "grants.csv"):
    return person.post("/console/bulk", files={"file": (name, content, "text/csv")})


def uploaded(person: Person, content: bytes) -> str:
    """Upload ``content``; the new job's id."""
    answer = upload(person, content)
    assert answer.status_code == 303, answer.text
    found = JOB.search(answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def run_to_end(person: Person, job: str) -> str:
    """Confirm the job and follow its page, as the browser's reloads would, to the end."""
    answer = person.post(f"/console/bulk/{job}/run")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/bulk/{job}"
    return wait_done(person, job)


def wait_done(person: Person, job: str) -> str:
    deadline = time.monotonic() + RUN_LIMIT_SECONDS
    while True:
        page = person.client.get(f"/console/bulk/{job}")
        assert page.status_code == 200, page.text
        if "<h2>Result</h2>" in page.text:
            return page.text
        assert "<h2>Issuing</h2>" in page.text, page.text
        assert page.headers["refresh"] == "1"  # the browser reloads it every second
        assert re.search(r'<progress id="bulk-progress" max="\d+" value="\d+">', page.text)
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.2)


def counts(env: Env) -> dict[str, int]:
    """Rows in every table of issuer.db."""
    names = [
        r[0]
        for r in env.body.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL%'"
        )
    ]
    return {n: env.body.db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def shown_counts(page: str, list_id: str) -> dict[str, int]:
    block = page.split(f'<dl class="counts" id="{list_id}">', 1)[1].split("</dl>", 1)[0]
    return {k: int(v) for k, v in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", block)}


def problem_rows(page: str) -> list[tuple[int, str]]:
    table = page.split('<table id="problems">', 1)[1].split("</table>", 1)[0]
    return [
        (int(r), c) for r, c in re.findall(r'<th scope="row">(\d+)</th><td>([^<]*)</td>', table)
    ]


def test_2000_rows_with_5_bad_preview_confirm_result_and_reupload(env: Env) -> None:
    decider = env.signed_in("decider", "Dana Decider")
    examiner, dana = env.staff["officer"], env.staff["decider"]
    bad = {  # index in the file -> (the change, the column the preview must name)
        100: ({"assessed_on": "2025-13-45"}, "assessed_on"),
        500: ({"scheme": "no-such-scheme"}, "scheme"),
        900: ({"scope": "XX9"}, "scope"),
        1300: ({"examiner": dana}, "examiner"),  # the signed-in decider examined them
        1700: ({"full_name": ""}, "full_name"),
    }
    rows = [row(i, examiner) for i in range(2000)]
    for i, (changes, _) in bad.items():
        rows[i] = [changes.get(c, cell) for c, cell in zip(HEADER, rows[i], strict=True)]
    content = csv_bytes(rows)
    expected = [(i + 2, column) for i, (_, column) in sorted(bad.items())]  # header: row 1

    before = counts(env)
    job = uploaded(decider, content)
    after_upload = counts(env)
    # The upload keeps the file as a job, and its event; nothing else is written.
    assert after_upload["console_bulk_jobs"] == before["console_bulk_jobs"] + 1
    assert after_upload["events"] == before["events"] + 1
    unchanged = {k for k in before if k not in ("console_bulk_jobs", "events")}
    assert {k: after_upload[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after_upload["certifications"] == 0

    preview = decider.client.get(f"/console/bulk/{job}")
    assert preview.status_code == 200
    assert "Preview: nothing is signed yet" in preview.text
    assert problem_rows(preview.text) == expected
    assert shown_counts(preview.text, "preview-counts") == {
        "Rows": 2000,
        "Would be issued": 1995,
        "Already issued (skipped)": 0,
        "Refused": 5,
    }
    assert "ISO/IEC 17024" in preview.text  # the examiner row: the service's own reason
    assert counts(env) == after_upload  # showing the preview writes nothing

    started = time.perf_counter()
    page = run_to_end(decider, job)
    seconds = time.perf_counter() - started
    print(f"2,000 rows through the console: {seconds:.1f} s")
    assert shown_counts(page, "result-counts") == {
        "Issued": 1995,
        "Already issued (skipped)": 0,
        "Refused": 5,
    }
    issued = dict(env.body.db.execute("SELECT external_id, number FROM certifications"))
    assert len(issued) == 1995
    signed = env.body.db.execute("SELECT document FROM credentials").fetchall()
    assert len(signed) == 1995 and all('"proof"' in d for (d,) in signed)
    # The decision-maker of every grant is the signed-in person.
    deciders = env.body.db.execute("SELECT DISTINCT decided_by FROM decisions").fetchall()
    assert deciders == [(dana,)]
    grants = env.events("decision_grant")
    assert len(grants) == 1995 and {e["actor"] for e in grants} == {dana}
    for kind in ("console_bulk_uploaded", "console_bulk_confirmed"):
        [event] = env.events(kind)
        assert event["actor"] == dana and event["subject"] == job

    answer = decider.client.get(f"/console/bulk/{job}/result.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(lines) == 2000
    assert [int(r["row"]) for r in lines] == list(range(2, 2002))
    outcomes = {int(r["row"]): r for r in lines}
    for i in range(2000):
        line = outcomes[i + 2]
        assert line["external_id"] == f"grant-{i:05d}"
        if i in bad:
            assert line["outcome"] == "refused" and line["number"] == ""
            assert line["reason"].startswith(bad[i][1] + ": ")
        else:
            assert line["outcome"] == "issued"
            assert line["number"] == issued[f"grant-{i:05d}"]
    assert issued["grant-00001"] in page  # the page lists the numbers too

    # The same bytes again: the preview says they are issued, and the run issues nothing.
    again = uploaded(decider, content)
    preview = decider.client.get(f"/console/bulk/{again}")
    assert shown_counts(preview.text, "preview-counts") == {
        "Rows": 2000,
        "Would be issued": 0,
        "Already issued (skipped)": 1995,
        "Refused": 5,
    }
    page = run_to_end(decider, again)
    assert shown_counts(page, "result-counts") == {
        "Issued": 0,
        "Already issued (skipped)": 1995,
        "Refused": 5,
    }
    assert env.body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 1995
    skipped = list(
        csv.DictReader(io.StringIO(decider.client.get(f"/console/bulk/{again}/result.csv").text))
    )
    assert {r["outcome"] for r in skipped} == {"skipped", "refused"}
    assert all(
        r["number"] == issued[r["external_id"]] for r in skipped if r["outcome"] == "skipped"
    )

    listing = decider.client.get("/console/bulk")
    assert listing.text.count('href="/console/bulk/') == 2  # both jobs, listed


def test_officers_may_not_issue_in_bulk(env: Env) -> None:
    officer = env.signed_in("officer", "Olga Officer")
    content = csv_bytes([row(1, env.staff["admin"])])
    assert officer.client.get("/console/bulk").status_code == 403
    answer = upload(officer, content)
    assert answer.status_code == 403
    assert "decision_maker" in answer.text
    assert env.body.db.execute("SELECT COUNT(*) FROM console_bulk_jobs").fetchone()[0] == 0


def test_a_file_that_cannot_be_read_is_refused_in_words_and_not_kept(env: Env) -> None:
    decider = env.signed_in("decider", "Dana Decider")
    refusals = {
        b"": "is empty",
        "external_id,full_name\ngrant-1,Zoë\n".encode("utf-16"): "not UTF-8",
        b"external_id,full_name,colour\n1,A,red\n": "missing columns",
    }
    for content, words in refusals.items():
        answer = upload(decider, content, name="mine.csv")
        assert answer.status_code == 422, answer.text
        assert words in answer.text and "mine.csv" in answer.text
        assert ".bulk-" not in answer.text  # the temporary file's name is not shown
    too_large = b"x" * (console_bulk.MAX_UPLOAD_BYTES + 100_000)
    answer = upload(decider, too_large)
    assert answer.status_code == 413
    assert "larger than 20 MB" in answer.text
    assert env.body.db.execute("SELECT COUNT(*) FROM console_bulk_jobs").fetchone()[0] == 0
    assert not list(
        Path(env.body.db.execute("PRAGMA database_list").fetchone()[2]).parent.glob(".bulk-*")
    )


def test_an_interrupted_job_resumes_and_issues_each_row_once(env: Env, tmp_path: Path) -> None:
    attach(env.body)  # the server pushes to its register: so must the run
    decider = env.signed_in("decider", "Dana Decider")
    examiner = env.staff["officer"]
    content = csv_bytes([row(i, examiner) for i in range(10)])
    job = uploaded(decider, content)
    # The server stopped mid-run: the job's row says running, for a process that is gone,
    # and the first half of the file was issued before it stopped.
    half = tmp_path / "half.csv"
    half.write_bytes(csv_bytes([row(i, examiner) for i in range(5)]))
    issue_csv(env.body, half, decided_by=env.staff["decider"], workers=0)
    env.body.db.execute(
        "UPDATE console_bulk_jobs SET state = 'running', runner = 'a-process-gone', "
        "confirmed_by = uploaded_by, rows_done = 5 WHERE id = ?",
        [job],
    )
    page = decider.client.get(f"/console/bulk/{job}")
    assert "<h2>Interrupted</h2>" in page.text and ">Resume</button>" in page.text
    assert "refresh" not in page.headers  # it does not reload for ever

    page = run_to_end(decider, job)
    assert shown_counts(page, "result-counts") == {
        "Issued": 5,
        "Already issued (skipped)": 5,
        "Refused": 0,
    }
    assert env.body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 10
    [event] = env.events("console_bulk_resumed")
    assert event["actor"] == env.staff["decider"]
    # The run's grants reached the public register, as certreg issue's do.
    register = sqlite3.connect(register_path_for(env.body))
    published = sum(
        register.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("certifications", "lookup")
    )
    register.close()
    assert published == 10


def test_only_the_uploader_confirms_and_a_finished_job_does_not_run_again(env: Env) -> None:
    env.staff["decider2"] = env.body.add_staff("Dirk Decider", roles=["decision_maker"])
    dana = env.signed_in("decider", "Dana Decider")
    dirk = env.signed_in("decider2", "Dirk Decider")
    job = uploaded(dana, csv_bytes([row(1, env.staff["officer"])]))
    answer = dirk.post(f"/console/bulk/{job}/run")
    assert answer.status_code == 403 and "uploaded this file" in answer.text
    run_to_end(dana, job)
    answer = dana.post(f"/console/bulk/{job}/run")
    assert answer.status_code == 409
    assert env.body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 1


def test_the_running_page_shows_progress_rate_and_time_left(env: Env) -> None:
    decider = env.signed_in("decider", "Dana Decider")
    job = uploaded(decider, csv_bytes([row(i, env.staff["officer"]) for i in range(20)]))
    with console_bulk._one_run:  # another run goes first: this one is confirmed, and waits
        answer = decider.post(f"/console/bulk/{job}/run")
        assert answer.status_code == 303  # at once, while the run cannot even start
        env.body.db.execute(
            "UPDATE console_bulk_jobs SET rows_done = 500, rows_total = 2000, "
            "started_wall = ? WHERE id = ?",
            [time.time() - 10, job],
        )
        page = decider.client.get(f"/console/bulk/{job}")
        assert page.headers["refresh"] == "1"
        assert '<meta http-equiv="refresh" content="1">' in page.text
        assert '<progress id="bulk-progress" max="2000" value="500">' in page.text
        status = re.search(r'<p id="bulk-status" role="status">([^<]+)</p>', page.text)
        assert status, page.text
        words = status.group(1)
        assert words.startswith("500 of 2000 rows done; ")
        rate = float(re.search(r"; ([\d.]+) rows/s;", words).group(1))
        assert 40 <= rate <= 50  # 500 rows in 10 s and a little more
        assert re.search(r"time left (\d+) s\.", words)
        assert "Waiting for another file" in page.text
        assert decider.post(f"/console/bulk/{job}/run").status_code == 409  # not twice
        assert decider.client.get(f"/console/bulk/{job}/result.csv").status_code == 409
    page = wait_done(decider, job)
    assert shown_counts(page, "result-counts")["Issued"] == 20


def test_a_form_without_a_file_is_refused_in_words(env: Env) -> None:
    decider = env.signed_in("decider", "Dana Decider")
    answer = decider.post("/console/bulk", files={"other": ("a.txt", b"x", "text/plain")})
    assert answer.status_code == 422
    assert "choose a CSV file" in answer.text


def test_under_certreg_serve_a_run_killed_with_the_server_resumes_after_restart(
    tmp_path: Path,
) -> None:
    """The real thing: uvicorn, the run in the server's thread, SIGKILL mid-run, a restart,
    Resume; every row issued exactly once, in issuer.db and in the public register."""
    body = make_body(tmp_path / "cb")
    staff = add_staff(body, officer=["officer"], decider=["decision_maker"])
    link = accounts.create_enrolment(body, staff["decider"], actor=None)
    content = csv_bytes([row(i, staff["officer"]) for i in range(3000)])
    data = tmp_path / "cb"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve_subprocess(data, port)
    try:
        wait_serving(base, server)
        browser = httpx.Client(base_url=base, timeout=30)
        page = browser.get(f"/console/enrol/{link.token}")
        secret = SECRET.search(page.text).group(1)
        enrolled = browser.post(
            f"/console/enrol/{link.token}",
            data={"password": PASSWORD, "password_again": PASSWORD, "totp_secret": secret,
                  "code": pyotp.TOTP(secret).now(), "csrf_token": csrf_of(page.text)},
            headers={"Origin": base},
        )  # fmt: skip
        page = browser.get("/console/login")
        signed_in = browser.post(
            "/console/login",
            data={"login": "Dana Decider", "password": PASSWORD,
                  "code": CODES.findall(enrolled.text)[0], "csrf_token": csrf_of(page.text)},
            headers={"Origin": base},
        )  # fmt: skip
        assert signed_in.status_code == 303, signed_in.text
        token = csrf_of(browser.get("/console/bulk").text)
        answer = browser.post(
            "/console/bulk",
            data={"csrf_token": token},
            files={"file": ("session.csv", content, "text/csv")},
            headers={"Origin": base},
        )
        job = JOB.search(answer.headers["location"]).group(1)
        answer = browser.post(
            f"/console/bulk/{job}/run", data={"csrf_token": token}, headers={"Origin": base}
        )
        assert answer.status_code == 303
        deadline = time.monotonic() + RUN_LIMIT_SECONDS
        while True:  # until a few batches are in, then the server dies
            done = re.search(r'value="(\d+)"', browser.get(f"/console/bulk/{job}").text)
            if done and int(done.group(1)) >= 400:
                break
            assert time.monotonic() < deadline, "the run did not progress"
            time.sleep(0.05)
        server.kill()
        server.wait(timeout=10)
    finally:
        stop_subprocess(server)
    issued_before = body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0]
    assert 0 < issued_before < 3000, issued_before

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve_subprocess(data, port)
    try:
        wait_serving(base, server)
        browser.base_url = httpx.URL(base)
        page = browser.get(f"/console/bulk/{job}")
        assert "<h2>Interrupted</h2>" in page.text, page.text
        answer = browser.post(
            f"/console/bulk/{job}/run",
            data={"csrf_token": csrf_of(page.text)},
            headers={"Origin": base},
        )
        assert answer.status_code == 303, answer.text
        deadline = time.monotonic() + RUN_LIMIT_SECONDS
        while "<h2>Result</h2>" not in (page := browser.get(f"/console/bulk/{job}").text):
            assert time.monotonic() < deadline, "the resumed run did not end"
            time.sleep(0.2)
    finally:
        stop_subprocess(server)
    result = shown_counts(page, "result-counts")
    assert result["Refused"] == 0
    assert result["Issued"] + result["Already issued (skipped)"] == 3000
    assert result["Already issued (skipped)"] >= issued_before
    numbers = body.db.execute("SELECT COUNT(DISTINCT external_id) FROM certifications")
    assert numbers.fetchone()[0] == 3000
    assert body.db.execute("SELECT COUNT(*) FROM certifications").fetchone()[0] == 3000
    register = sqlite3.connect(register_path_for(body))
    published = sum(
        register.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("certifications", "lookup")
    )
    register.close()
    assert published == 3000
    assert not list(data.glob(".bulk-*"))  # the file the killed run left is gone too
