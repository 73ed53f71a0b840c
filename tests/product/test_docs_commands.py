"""Every shell command in README.md and docs/*.md is run, so that a renamed file, command or
option fails here instead of failing a reader.

The ```sh, ```bash and ```console blocks (in a console block, the lines after ``$ ``) are
extracted, continuation lines, open quotes and here-documents joined, and each document's
commands run in order, as a reader follows them, in a fresh folder of its own (with the files of
docs/examples/ beside them). A command must exit 0, unless the document shows it failing
(``Error:`` in the output shown after it). The values a document invents (a certificate number,
a token id, `/srv/certreg`, port 8765) are replaced by the ones the run produced, learned from
the output of the commands before; a document that starts from an existing body gets the demo
body (`certreg demo --no-serve`, built once). `certreg serve` (and a `datasette serve` replica)
runs in the background on a free 127.0.0.1 port until the document ends or starts another; a
`cd` moves the commands after it. Nothing leaves the machine.

`curl -s` exits 0 whatever the HTTP status, so each curl's answer is compared with the one the
document shows after it (in a console block, the lines after the command; in a sh block, the
`# {...}` comment lines right after it): the status line, the first JSON key, and for an error
the words of its reason. A curl whose answer the document does not show must say
`--fail-with-body`, so that an HTTP error fails it.

Commands that cannot run here are listed in NOT_HERE, each with its reason; every other command
is run. A command in a document that is neither run nor listed cannot exist: the extraction is
the list.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import free_port
from click.testing import CliRunner

from certreg.issuer.cli import main

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PASSPHRASE = "docs commands, not a secret"
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
SHELL_LANGUAGES = {"sh", "bash", "console", "shell"}
#: In a ```sh block, the comment lines right after a command that show its answer.
ANSWER_COMMENTS = ("# {", "# [", "# HTTP/")

#: Commands that cannot run on this machine, by the start of their text: why, and where the
#: same thing is tested instead.
NOT_HERE = {
    "make demo": "builds a virtual environment and serves until Ctrl-C; its demo is "
    "tests/product/test_demo.py::test_the_printed_verify_commands_answer_as_printed",
    "make test": "is this test suite (CI runs it through .ci/run)",
    "certreg serve --tls-cert cert.pem": "needs the TLS certificate of a real domain "
    "(tests/issuer/test_http_server.py serves TLS with a test certificate)",
    "certreg serve --data data --host 0.0.0.0": "listens on every interface, with the TLS "
    "certificate of a real domain",
    "npm ci": "installs from the npm registry (`make test` does it; "
    "tests/product/test_interop_js.py is the suite it installs for)",
    ".venv/bin/pytest tests/product/test_interop_js.py": "runs another module of this test suite",
    "install -m 0640 -o root -g datasette": "gives the file to root and the group datasette: "
    "needs root (the replica below runs without the secret, and says so in its log)",
}


@dataclass
class Command:
    doc: str
    line: int
    text: str
    shown: list[str] = field(default_factory=list)  # the output the document shows

    @property
    def expects_error(self) -> bool:
        return any(line.startswith("Error:") for line in self.shown)

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


def _incomplete(text: str) -> bool:
    """An open quote: the command goes on on the next line."""
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def commands_of(path: Path) -> list[Command]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Command] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, language = fence.groups()
        block: list[tuple[int, str]] = []
        i += 1
        while i < len(lines) and not FENCE.match(lines[i]):
            block.append((i + 1, lines[i][len(indent) :]))
            i += 1
        i += 1
        if language in SHELL_LANGUAGES:
            found += _block_commands(path.name, language, block)
    return found


def _block_commands(doc: str, language: str, block: list[tuple[int, str]]) -> list[Command]:
    found: list[Command] = []
    answer_to: int | None = None  # the command whose shown answer may follow, as comments
    k = 0
    while k < len(block):
        number, text = block[k]
        if language == "console":
            if not text.startswith("$ "):
                if found:
                    found[-1].shown.append(text)
                k += 1
                continue
            text = text[2:]
        elif not text.strip() or text.lstrip().startswith("#"):
            answer = found and found[-1].line == answer_to and text.startswith("#")
            if answer and (found[-1].shown or text.startswith(ANSWER_COMMENTS)):
                found[-1].shown.append(text[2:])  # the answer shown after it, as comments
                k += 1
                continue
            answer_to = None
            k += 1
            continue
        while (text.endswith("\\") or _incomplete(text)) and k + 1 < len(block):
            k += 1
            text = (text[:-1] + " " if text.endswith("\\") else text + "\n") + block[k][1].strip()
        heredoc = re.search(r"<<-?'?(\w+)'?", text)
        if heredoc:
            body = []
            while k + 1 < len(block) and block[k + 1][1].strip() != heredoc.group(1):
                k += 1
                body.append(block[k][1])
            k += 1
            text = "\n".join([text, *body, heredoc.group(1)])
        found.append(Command(doc, number, text))
        answer_to = number
        k += 1
    return found


ALL = [c for path in DOCS for c in commands_of(path)]


def not_here(command: Command) -> str | None:
    return next((why for start, why in NOT_HERE.items() if command.text.startswith(start)), None)


# -- what each document starts from, and the values it invents -----------------------------------

#: Documents that start from an existing body: they get a copy of the demo body as `data`.
FROM_A_BODY = {
    "audit.md",
    "bulk-issuance.md",
    "http-api.md",
    "holder.md",
    "mail.md",
    "offline.md",
    "register-operator.md",
    "transparency.md",
}

#: What a document leaves to the reader (their own file, folder or staff id), by document.
#: "{dana}" and "{erik}" are the demo body's decision-maker's and examiner's staff ids.
READERS_OWN = {
    "README.md": {"STAFF_ID": "{dana}"},
    "http-api.md": {"$DANA_ID": "{dana}"},
    "holder.md": {"CWI-HR4B-9XDG-J": "{certificate}"},
    # A certificate whose offline QR the register shows (its holder listed by name) and whose
    # check says VALID: the demo's states are drawn at random.
    "offline.md": {"CWI-HR4B-9XDG-J": "{listed_valid}"},
    "transparency.md": {"CWI-7K3M-9QX2-4": "{certificate}"},
    "bulk-issuance.md": {
        "session-2026-03.csv": "grants.csv",
        "--data /srv/certreg": "--data data",
        "STAFF_ID": "{dana}",
    },
}

#: A benchmark is run with its options as documented, on a small size (the sizes the document
#: gives take minutes).
SMALLER = {
    "--rows 5000 --trials 3": "--rows 100 --trials 1 --sign-count 100",
    "--rows 5000 50000 --existing 0 100000": "--rows 100 --existing 0 300 --sign-count 100",
    "--rows 1000000 --seconds 15": "--rows 500 --seconds 1",
}

#: Commands that fail today when followed, each for the reason found by this test: a wrong
#: document or a bug to fix. Each is still run, and must still fail: one that starts to work
#: fails the test until it is taken off this list, so the list only shrinks.
KNOWN_BROKEN: dict[str, str] = {}

#: Instants the documents give as examples of "when the key may have leaked": here, a moment
#: after the key was made (a date before it is refused, rightly).
NOW_ISH = ("2026-03-01T08:00:00Z",)
#: Suspension deadlines the documents give: here, a month from today.
FUTURE = ("2026-06-01", "2026-05-01")

#: (literal in the document, pattern in an earlier command's output whose group replaces it)
LEARNED = [
    ("CWI-7K2M-9QX4-3", r"Certificate number: (\S+)"),
    ("CWI-HR4B-9XDG-J", r"Certificate number: (\S+)"),
    ("2f50f2ad-0cd0-4138-9cf5-0bab29e713f7", r"Token (\S+) \("),
    ("TOKEN_ID", r"Token (\S+) \("),
    ("f8a05f43-6cf5-43f0-9d92-6e94f6b49b3b", r"request (\S+) "),
    # keys.md: the first key of the store, and when it was made (a retired key declared
    # compromised from its creation)
    # http-api.md: what one answer holds and the next request uses
    ("9f423de799e2f039794a862218715869", r'etag: "([0-9a-f]+)"'),
    ("58b0…", r'"claim":\s*\{"id":\s*"([^"]+)"'),
    ("certreg-claim_CoN3…", r'"code":\s*"(certreg-claim_[^"]+)"'),
    ("certreg-claim_Qe7x…", r"(?m)^(certreg-claim_\S+)\s*$"),
    ("certreg_UuhM…", r'"secret":\s*"(certreg_[^"]+)"'),
    ("7da25781-…", r"person id (\S+)"),
    ("did:web:cb.example", r"serving (did:\S+) on"),
    (
        "urn:uuid:2c8b5ac0-d274-47eb-923d-4c6c3eeb7801",
        r'"verifiableCredential":\{.*?"id":"(urn:uuid:[^"]+)"',
    ),
    # holder.md: the share link made, by its id
    ("7d2c…-…", r"Share link (\S+) for"),
    ("key-20250101T090000Z-3f9a", r"Current key: \S+#(key-\S+)"),
    ("2025-01-01T09:00:00Z", r"#key-\S+ +(?:current|retired) +(\d{4}-\d\d-\d\dT\S+Z)"),
]


@dataclass
class Reader:
    """A reader following one document in their own folder."""

    work: Path
    port: int
    env: dict[str, str]
    learned: dict[str, str] = field(default_factory=dict)
    servers: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    where: Path | None = None  # after a `cd` in the document

    @property
    def cwd(self) -> Path:
        return self.where or self.work

    @cwd.setter
    def cwd(self, value: Path) -> None:
        self.where = value

    last_rc: int = 0
    staff: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str, doc: str = "") -> str:
        for literal, value in self.learned.items():
            text = text.replace(literal, value)
        for literal, value in READERS_OWN.get(doc, {}).items():
            if literal in text:
                text = text.replace(literal, value.format(**self.staff))
        for literal, value in SMALLER.items():
            text = text.replace(literal, value)
        for literal in FUTURE:
            later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
            text = text.replace(literal, later)
        for literal in NOW_ISH:
            text = text.replace(literal, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        for old in ("/srv/", "/run/secrets/", "/etc/certreg/"):
            text = text.replace(old, f"{self.work}{old}")
        return re.sub(r"127\.0\.0\.1:(8765|8000|8001)\b", f"127.0.0.1:{self.port}", text)

    def run(self, command: Command) -> tuple[int, str]:
        text = self.substitute(command.text, command.doc)
        if text.startswith(("certreg serve", "certreg register serve")):
            return self.serve(text)
        if re.match(r"(\w+=\S+\s+)*datasette serve\s", text):
            return self.serve(text, datasette=True)
        if text.startswith("cd "):  # the reader's shell moves; so do the commands after it
            self.cwd = self.cwd / shlex.split(text)[1]
            return (0, "") if self.cwd.is_dir() else (1, f"cd: {self.cwd}: no such folder")
        if text.strip() == "echo $?":
            return 0, f"{self.last_rc}\n"
        assignment = re.fullmatch(r"(export )?([A-Z_]+)=(.*)", text.split("  #")[0].strip())
        if assignment and assignment.group(3).strip("'") in ("...", "…"):
            return 0, ""  # the reader's own secret: the one set for the run stands
        if assignment:
            done = subprocess.run(
                ["bash", "-c", f"printf %s {assignment.group(3)}"],
                env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            self.env[assignment.group(2)] = done.stdout
            return done.returncode, done.stderr  # what the reader sees; the value is kept
        words = shlex.split(text, comments=True)
        plain = words and words[0] == "certreg" and not set(";|&<>$`") & set(text.split("#")[0])
        if plain:
            return self.in_process(words[1:])
        shell = self.shell_words(text)
        if shell is not None:
            return self.in_process(*shell)
        cwd = self.cwd
        if text.startswith(".venv/bin/python "):  # from the checkout, as the document says
            text, cwd = f"{shlex.quote(sys.executable)} {text[len('.venv/bin/python ') :]}", ROOT
        done = subprocess.run(
            ["bash", "-c", text], env=self.env, cwd=cwd, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    def shell_words(self, text: str) -> tuple[list[str], Path | None] | None:
        """A `certreg` command that needs the shell only for its `$VARIABLES` and a final
        `> FILE`: its words as the shell expands them (bash does it, as the reader's would),
        and the file, so that it runs in this process too (an interpreter start is a second)."""
        redirect = re.search(r"\s>\s*([\w./-]+)(?=\s*(#.*)?$)", text)
        rest = text[: redirect.start()] + text[redirect.end() :] if redirect else text
        if not rest.startswith("certreg ") or re.search(r"[;|&<>`]|\$\(", rest):
            return None
        expanded = subprocess.run(
            ["bash", "-c", f"printf '%s\\0' {rest}"], env=self.env, cwd=self.cwd,
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if expanded.returncode != 0:
            return None
        target = self.cwd / redirect.group(1) if redirect else None
        return expanded.stdout.split("\0")[1:-1], target

    def in_process(self, args: list[str], stdout_to: Path | None = None) -> tuple[int, str]:
        """`certreg ...` in this process: the same code, without an interpreter start each.
        With `stdout_to`, standard output goes to that file and the rest is what is shown."""
        here = Path.cwd()
        os.chdir(self.cwd)
        try:
            result = CliRunner().invoke(main, args, env=self.env)
        finally:
            os.chdir(here)
        shown = result.output
        if stdout_to is not None:
            stdout_to.write_text(result.stdout)
            shown = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            return 1, f"{shown}\n(a Python exception escaped: {result.exception!r})"
        return result.exit_code, shown

    def serve(self, text: str, datasette: bool = False) -> tuple[int, str]:
        """`certreg serve` (or a `datasette serve` replica) in the background. A later one
        replaces the one running, as a reader stops the first (Ctrl-C) to start another: the
        answers then come from the new one."""
        self.stop()
        words = [w for w in shlex.split(text, comments=True) if w != "&"]
        for option in ("--port", "--host"):
            if option in words:
                at = words.index(option)
                del words[at : at + 2]
        here = ["--host", "127.0.0.1", "--port", str(self.port)]
        if datasette:  # VAR=value datasette serve ...: as the shell runs it
            at = next(i for i, word in enumerate(words) if word == "datasette")
            line = f"{shlex.join(words[:at])} exec {shlex.join(words[at:] + here)}"
            argv = ["bash", "-c", line]
        else:
            argv = [
                sys.executable,
                "-c",
                "from certreg.issuer.cli import main; main()",
                *words[1:],
                *here,
            ]
        log = self.work / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as printed:  # a file, not a pipe nobody reads (it could fill)
            server = subprocess.Popen(
                argv, env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=printed
            )
        self.servers.append(server)
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                return server.returncode, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return 0, log.read_text()  # "certreg: serving DID on ...", learned from
            except OSError:
                if time.monotonic() > deadline:
                    return 1, "certreg serve did not start listening within 60 s"
                time.sleep(0.2)

    def stop(self) -> None:
        for server in self.servers:
            server.terminate()
            server.wait(timeout=30)
        self.servers.clear()


@pytest.fixture(scope="module")
def demo_body(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "data"
    result = CliRunner().invoke(
        main, ["demo", "--no-serve", "--holders", "10", "--data", str(data)]
    )
    assert result.exit_code == 0, result.output
    return data


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Reader]:
    work = tmp_path / "reader"
    shutil.copytree(ROOT / "docs" / "examples", work)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CERTREG_PASSPHRASE": PASSPHRASE,
    }
    env.pop("CERTREG_DATA", None)
    secrets = work / "run" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "certreg").write_text(PASSPHRASE)
    (secrets / "certreg").chmod(0o600)
    one = Reader(work, free_port(), env)
    yield one
    one.stop()


@pytest.mark.parametrize("doc", sorted({c.doc for c in ALL}))
def test_every_command_of_the_document_runs(doc: str, reader: Reader, request) -> None:
    if doc in FROM_A_BODY:
        body = request.getfixturevalue("demo_body")
        shutil.copytree(body, reader.work / "data")
        passphrase = (body / "demo-passphrase.txt").read_text()
        reader.env["CERTREG_PASSPHRASE"] = passphrase
        (reader.work / "run" / "secrets" / "certreg").write_text(passphrase)
        listed = reader.in_process(["staff", "list", "--data", "data"])[1]
        for key, name in (("dana", "Dana Decider"), ("erik", "Erik Examiner")):
            reader.staff[key] = re.search(rf"^(\S+)\s+{name}", listed, re.M).group(1)
        persons = reader.in_process(["person", "list", "--data", "data"])[1]
        reader.staff["certificate"] = re.search(r"CWI-\w{4}-\w{4}-\w", persons).group(0)
        with sqlite3.connect(reader.work / "data" / "register.db") as register:
            listed = register.execute(
                "SELECT number FROM certifications WHERE status = 'ACTIVE' "
                "AND holder_name IS NOT NULL AND offline_qr IS NOT NULL ORDER BY number LIMIT 1"
            ).fetchone()
        reader.staff["listed_valid"] = listed[0] if listed else "none-listed"
        _examiner_is(reader, reader.staff["erik"])
    failures = []
    for command in [c for c in ALL if c.doc == doc]:
        if not_here(command):
            continue
        rc, output = reader.run(command)
        reader.last_rc = rc
        for literal, pattern in LEARNED:
            found = re.search(pattern, output)
            if found and literal not in reader.learned and literal in _rest(doc, command):
                reader.learned[literal] = found.group(1)
        for first, staff_id in re.findall(r"Added (\w+) \w+ \(.*\): staff id (\S+)", output):
            reader.staff.setdefault(first.lower(), staff_id)
            if first == "Erik":
                _examiner_is(reader, staff_id)
        where = f"{command.doc}:{command.line}"
        if where in KNOWN_BROKEN:
            if rc == 0:
                failures.append(f"{command}\n  runs now: take it off KNOWN_BROKEN")
            continue
        if exit_rule := next((v for k, v in EXIT.items() if command.text.startswith(k)), None):
            ok = rc == exit_rule[0]
        else:
            ok = (rc != 0) == command.expects_error
        if not ok:
            failures.append(f"{command}\n  exit {rc}: {output.strip()[-600:]}")
        elif problem := answer_problem(command, output):
            failures.append(f"{command}\n  {problem}")
    assert not failures, "\n\n".join(failures)


def _is_curl(command: Command) -> bool:
    return bool(re.match(r"(\w+=\S*\s+)?curl\s", command.text))


def _first_json(lines: list[str]) -> str | None:
    return next((line.strip() for line in lines if line.strip().startswith(("{", "["))), None)


def _detail_start(answer: str) -> str:
    """The fixed words a `{"detail": ...}` answer starts with: up to the first value that
    differs from run to run (a number, a DID, an id) or the document's `…`."""
    found = re.match(r'\{\s*"detail"\s*:\s*"([^"0-9…]*)', answer)
    words = found.group(1) if found else ""
    return re.split(r"did:|urn:|https?:", words)[0][:60]


def answer_problem(command: Command, output: str) -> str | None:
    """`curl -s` exits 0 whatever the HTTP status: so each answer is compared with the one the
    document shows after the command (its status line; its first JSON key and, for an error, the
    words of its reason), and a curl whose answer the document does not show must fail on an
    HTTP error itself (`--fail-with-body`)."""
    if not _is_curl(command):
        return None
    shown, got = command.shown, output.splitlines()
    if not shown:
        if re.search(r"\s(--fail-with-body|--fail|-\w*f\w*)(\s|$)", command.text):
            return None
        return "a curl whose answer the document neither shows nor checks (--fail-with-body)"
    if shown[0].startswith("HTTP/"):
        status = shown[0].split()[1]
        if not got or got[0].split()[1:2] != [status]:
            return f"the document shows {shown[0]!r}, the answer was {(got or [''])[0]!r}"
    want, have = _first_json(shown), _first_json(got)
    if want is None:
        return None
    key = re.match(r'[{\[]\s*"?([\w@]*)', want).group(1)
    if have is None or re.match(r'[{\[]\s*"?([\w@]*)', have).group(1) != key:
        return f"the document shows an answer starting {want[:60]!r}, the answer was {have!r}"
    if key == "detail" and not _detail_start(have).startswith(_detail_start(want)):
        return f"the document shows the reason {_detail_start(want)!r}…, the answer was {have}"
    return None


def _examiner_is(reader: Reader, staff_id: str) -> None:
    """docs/examples/grants.csv names its examiner EXAMINER_STAFF_ID, for the reader's own."""
    grants = reader.work / "grants.csv"
    grants.write_text(grants.read_text().replace("EXAMINER_STAFF_ID", staff_id))


#: Commands whose documented exit code here is not 0 (and why that is still a success).
EXIT = {
    "certreg verify signed.json           # or a URL, or - for stdin; --json; exit 0 only when "
    "VALID": (
        1,
        "the README's body is did:web:cb.example, an example domain nobody can fetch "
        "the DID document of: a verdict is reached (exit 1), not VALID",
    ),
    "certreg verify jane.json": (
        1,
        "the walk-through's body is did:web:cb.example, whose DID document nobody serves: "
        "the document says it answers Invalid until `certreg serve` answers at that domain",
    ),
}


def _rest(doc: str, command: Command) -> str:
    """The text of the document's commands after this one (where a learned value is used)."""
    after = [c.text for c in ALL if c.doc == doc and c.line > command.line]
    return "\n".join(after)


def test_the_commands_that_cannot_run_here_are_few_and_still_in_the_docs() -> None:
    skipped = [c for c in ALL if not_here(c)]
    assert len(skipped) <= 8, [str(c) for c in skipped]
    for start in NOT_HERE:  # a stale entry would hide nothing but mislead
        assert any(c.text.startswith(start) for c in ALL), start
    assert len(ALL) - len(skipped) >= 80  # the extraction finds the commands


def test_a_curl_answer_unlike_the_documents_fails() -> None:
    """`curl -s` exits 0 on a 401 or 404: the answer itself is what is compared."""
    doc = [c for c in ALL if c.doc == "http-api.md" and _is_curl(c)]
    turned_off = next(c for c in doc if c.shown and "turned off" in c.shown[0])
    assert answer_problem(turned_off, turned_off.shown[0]) is None
    # an empty $T gives another 4xx with a "detail": its words differ from the document's
    assert answer_problem(turned_off, '{"detail":"the Authorization header must be ..."}')
    claim = next(c for c in doc if "token-claims" in c.text and "redeem" not in c.text)
    assert answer_problem(claim, '{"detail":"Not Found"}')  # an empty $DANA_ID
    not_modified = next(c for c in doc if "If-None-Match" in c.text)
    assert answer_problem(not_modified, "HTTP/1.1 200 OK")
    # nothing shown: the document's curl must fail on an HTTP error itself
    assert answer_problem(Command("x.md", 1, "curl -s http://127.0.0.1:1/"), "")
    assert not answer_problem(Command("x.md", 1, "curl -s --fail-with-body http://x/"), "")
    assert all(c.shown or "--fail" in c.text for c in ALL if _is_curl(c))
