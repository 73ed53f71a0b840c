"""Every shell command in README.md and docs/*.md is run, so that a renamed file, command or
option fails here instead of failing a reader.

The ```sh, ```bash and ```console blocks (in a console block, the lines after ``$ ``) are
extracted, continuation lines, open quotes and here-documents joined, and each document's
commands run in order, as a reader follows them, in a fresh folder of its own (with the files of
docs/examples/ beside them). A command must exit 0, unless the document shows it failing
(``Error:`` in the output shown after it). The values a document invents (a certificate number,
a token id, `/srv/certreg`, port 8765) are replaced by the ones the run produced, learned from
the output of the commands before; a document that starts from an existing body gets the demo
body (`certreg demo --no-serve`, built once). `certreg serve` runs in the background on a free
127.0.0.1 port until the document ends. Nothing leaves the machine.

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
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import free_port
from click.testing import CliRunner

from issuer.cli import main

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PASSPHRASE = "docs commands, not a secret"
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
SHELL_LANGUAGES = {"sh", "bash", "console", "shell"}

#: Commands that cannot run on this machine, by the start of their text: why, and where the
#: same thing is tested instead.
NOT_HERE = {
    "make demo": "builds a virtual environment and serves until Ctrl-C; its demo is "
    "tests/test_demo.py::test_the_printed_verify_commands_answer_as_printed",
    "make test": "is this test suite (CI runs it through .ci/run)",
    "certreg serve --tls-cert cert.pem": "needs the TLS certificate of a real domain "
    "(tests/test_http_server.py serves TLS with a test certificate)",
    "certreg serve --data data --host 0.0.0.0": "listens on every interface, with the TLS "
    "certificate of a real domain",
    "npm ci": "installs from the npm registry (`make test` does it; "
    "tests/test_interop_js.py is the suite it installs for)",
    ".venv/bin/pytest tests/test_interop_js.py": "runs another module of this test suite",
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
        k += 1
    return found


ALL = [c for path in DOCS for c in commands_of(path)]


def not_here(command: Command) -> str | None:
    return next((why for start, why in NOT_HERE.items() if command.text.startswith(start)), None)


# -- what each document starts from, and the values it invents -----------------------------------

#: Documents that start from an existing body: they get a copy of the demo body as `data`.
FROM_A_BODY = {"audit.md", "bulk-issuance.md", "http-api.md", "holder.md"}

#: What a document leaves to the reader (their own file, folder or staff id), by document.
#: "{dana}" and "{erik}" are the demo body's decision-maker's and examiner's staff ids.
READERS_OWN = {
    "README.md": {"STAFF_ID": "{dana}"},
    "bulk-issuance.md": {
        "session-2026-03.csv": "grants.csv",
        "--data /srv/certreg": "--data data",
        "STAFF_ID": "{dana}",
    },
}

#: A benchmark is run with its options as documented, on a small size (the sizes the document
#: gives take minutes).
SMALLER = {
    "--rows 5000 --trials 3": "--rows 100 --trials 1",
    "--rows 1000000 --seconds 15": "--rows 500 --seconds 1",
}

#: Commands that fail today when followed, each for the reason found by this test: a wrong
#: document or a bug to fix. Each is still run, and must still fail: one that starts to work
#: fails the test until it is taken off this list, so the list only shrinks.
KNOWN_BROKEN = {
    "operator.md:40": "a second `certreg init` in the same walk-through: the block above it "
    "already made the body (the doc should say it replaces the first block's init)",
    "operator.md:153": "the block assumes the staff of another example (Dana without an e-mail)",
    "operator.md:155": "Erik is an officer in the walk-through, so has no decision_maker role",
    "operator.md:166": "Olga Officer is never added",
    "operator.md:169": "follows from operator.md:166",
    "operator.md:296": "Jane Doe (crm-17) already exists, and the CLI shows a Python exception "
    "(IntegrityError) instead of a reason: issuer/cli_body.py person add",
    "operator.md:298": "`[--search Doe]` is usage notation, not a command",
    "operator.md:300": "Olga Officer is never added",
    "operator.md:301": "Tom, the trainer, is never added",
    "operator.md:338": "Dana was deactivated at operator.md:153 in the same walk-through",
    "operator.md:368": "the walk-through's body is did:web:cb.example, which cannot be fetched",
    "operator.md:405": "the walk-through's data folder is /srv/certreg/data, not data",
    "operator.md:406": "as operator.md:405",
    "operator.md:407": "as operator.md:405",
    "operator.md:408": "as operator.md:405",
    "operator.md:475": "restores a backup dated 2026-03-10, which the backup script (dated "
    "today) did not make",
    "operator.md:476": "as operator.md:475",
    "operator.md:477": "as operator.md:475",
    "keys.md:136": "names a key id of its own example; the reader's is in `certreg keys list`",
}

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
]


@dataclass
class Reader:
    """A reader following one document in their own folder."""

    work: Path
    port: int
    env: dict[str, str]
    learned: dict[str, str] = field(default_factory=dict)
    servers: list[subprocess.Popen] = field(default_factory=list)
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
        for old in ("/srv/", "/run/secrets/"):
            text = text.replace(old, f"{self.work}{old}")
        return re.sub(r"127\.0\.0\.1:(8765|8000)\b", f"127.0.0.1:{self.port}", text)

    def run(self, command: Command) -> tuple[int, str]:
        text = self.substitute(command.text, command.doc)
        if text.startswith("certreg serve"):
            return self.serve(text)
        if text.strip() == "echo $?":
            return 0, f"{self.last_rc}\n"
        assignment = re.fullmatch(r"(export )?([A-Z_]+)=(.*)", text.split("  #")[0].strip())
        if assignment and assignment.group(3).strip("'") in ("...", "…"):
            return 0, ""  # the reader's own secret: the one set for the run stands
        if assignment:
            value = subprocess.run(
                ["bash", "-c", f"printf %s {assignment.group(3)}"],
                env=self.env, cwd=self.work, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            self.env[assignment.group(2)] = value
            return 0, ""
        words = shlex.split(text, comments=True)
        plain = words and words[0] == "certreg" and not set(";|&<>$`") & set(text.split("#")[0])
        if plain:
            return self.in_process(words[1:])
        cwd = self.work
        if text.startswith(".venv/bin/python "):  # from the checkout, as the document says
            text, cwd = f"{shlex.quote(sys.executable)} {text[len('.venv/bin/python ') :]}", ROOT
        done = subprocess.run(
            ["bash", "-c", text], env=self.env, cwd=cwd, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    def in_process(self, args: list[str]) -> tuple[int, str]:
        """`certreg ...` in this process: the same code, without an interpreter start each."""
        here = Path.cwd()
        os.chdir(self.work)
        try:
            result = CliRunner().invoke(main, args, env=self.env)
        finally:
            os.chdir(here)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            return 1, f"{result.output}\n(a Python exception escaped: {result.exception!r})"
        return result.exit_code, result.output

    def serve(self, text: str) -> tuple[int, str]:
        words = [w for w in shlex.split(text, comments=True) if w != "&"]
        for option in ("--port", "--host"):
            if option in words:
                at = words.index(option)
                del words[at : at + 2]
        server = subprocess.Popen(
            [sys.executable, "-c", "from issuer.cli import main; main()", *words[1:],
             "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.servers.append(server)
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                return server.returncode, server.stderr.read().decode() if server.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return 0, ""
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
        if command.text in EXIT:
            ok = rc == EXIT[command.text][0]
        else:
            ok = (rc != 0) == command.expects_error
        if not ok:
            failures.append(f"{command}\n  exit {rc}: {output.strip()[-600:]}")
    assert not failures, "\n\n".join(failures)


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
