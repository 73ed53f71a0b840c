"""Two branches that each add messages to a catalog merge by message (the git merge driver in
.gitattributes, certreg.i18n.catalogs.merge), and a translation both changed is sent back to a
translator (fuzzy) instead of being picked silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from certreg.i18n import catalogs

ROOT = Path(__file__).parents[2]


def _po(path: Path, entries: dict[str, str]) -> Path:
    catalog = Catalog(locale="de", domain="pages")
    for message, translation in entries.items():
        catalog.add(message, translation, locations=[("register/pages.py", 0)])
    with path.open("wb") as file:
        write_po(file, catalog, width=96, include_lineno=False)
    return path


def _read(path: Path) -> dict[str, tuple[str, bool]]:
    with path.open("rb") as file:
        return {m.id: (m.string, m.fuzzy) for m in read_po(file) if m.id}


def test_each_sides_new_messages_are_kept_and_a_double_change_is_sent_to_a_translator(
    tmp_path: Path,
) -> None:
    base = _po(tmp_path / "base.po", {"Holder": "Inhaber", "Scope": "Umfang"})
    ours = _po(
        tmp_path / "ours.po", {"Holder": "Inhaberin/Inhaber", "Scope": "Umfang", "Verify": "Prüfen"}
    )
    theirs = _po(
        tmp_path / "theirs.po",
        {"Holder": "Zertifikatsinhaber", "Scope": "Geltungsbereich", "Expired": "Abgelaufen"},
    )
    assert catalogs.merge(base, ours, theirs) == 1  # one entry both sides changed
    assert _read(ours) == {
        "Holder": ("Inhaberin/Inhaber", True),  # both changed it: ours, fuzzy
        "Scope": ("Geltungsbereich", False),  # only theirs changed it
        "Verify": ("Prüfen", False),
        "Expired": ("Abgelaufen", False),
    }


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_merges_two_branches_catalogs_without_a_conflict(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    git("init", "-q", "-b", "main")
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    git("config", "merge.po.driver", f"{sys.executable} -m certreg.i18n.catalogs merge %O %A %B")
    po = tmp_path / "pages.po"
    _po(po, {"Holder": "Inhaber"})
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "pdf")
    _po(po, {"Holder": "Inhaber", "Page %(n)s of %(total)s": "Seite %(n)s von %(total)s"})
    git("commit", "-qam", "pdf words")
    git("checkout", "-q", "main")
    _po(po, {"Holder": "Inhaber", "Language": "Sprache"})
    git("commit", "-qam", "switch words")
    git("merge", "-q", "--no-edit", "pdf")  # a line merge would conflict: both appended
    assert _read(po) == {
        "Holder": ("Inhaber", False),
        "Language": ("Sprache", False),
        "Page %(n)s of %(total)s": ("Seite %(n)s von %(total)s", False),
    }
