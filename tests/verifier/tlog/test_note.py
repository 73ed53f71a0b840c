"""C2SP signed-note: the specification's and Go's published vectors byte for byte, and its rules
for opening a note (last blank line, unknown keys ignored, a known key's bad signature refuses
the note, at most 100 signatures, bounded size), each refusal with its reason."""

from __future__ import annotations

import base64

import pytest

from certreg.verifier.tlog import note
from certreg.verifier.tlog.note import (
    NoteError,
    Signature,
    Signer,
    Verifier,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

# c2sp.org/signed-note, "Verifier keys": the specification's example key and note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRK"
    "uwHjG1Yu72IneyaQM=\n"
)

# golang.org/x/mod/sumdb/note: the package documentation's example (Ed25519 is deterministic,
# so signing the text with the key must give exactly this note).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# The same package's tests: a second key, for notes signed twice.
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"


def test_the_specification_example_opens() -> None:
    key = parse_verifier_key(SPEC_VKEY)
    assert key.name == "example.com/foo" and key.key_id.hex() == "530d903a"
    assert key.key_string == SPEC_VKEY
    opened = open_note(SPEC_NOTE, [key])
    assert opened.ok and opened.text == "This is an example message.\n"
    assert [s.name for s in opened.verified] == ["example.com/foo"]


def test_the_go_example_signs_byte_for_byte_and_opens() -> None:
    signer = parse_signer_key(GO_SKEY)
    assert signer.private_key_string == GO_SKEY
    assert signer.verifier.key_string == GO_VKEY
    assert note.key_id("PeterNeumann", note.ED25519, signer.verifier.public_key).hex() == "c74f20a3"
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE
    opened = open_note(GO_NOTE.encode(), [parse_verifier_key(GO_VKEY)])
    assert opened.ok and opened.text == GO_TEXT


def test_a_note_signed_by_no_known_key_is_refused_and_says_whose_it_is() -> None:
    opened = open_note(GO_NOTE, [parse_verifier_key(ENOCH_VKEY)])
    assert not opened.ok and opened.reason == "no known key signed the note"
    assert [s.name for s in opened.unknown] == ["PeterNeumann"]
    assert not open_note(GO_NOTE, [])


def test_unknown_keys_are_ignored_even_sharing_a_name_or_an_id() -> None:
    peter = parse_verifier_key(GO_VKEY)
    other = Signer.generate("PeterNeumann")  # same name, other key, other ID
    same_id = Verifier("Mallory", peter.key_id, other.verifier.public_key)  # same ID, other name
    twice = GO_NOTE + Signature("PeterNeumann", other.key_id, b"\x00" * 64).line
    twice += Signature("Mallory", peter.key_id, b"\x00" * 64).line
    opened = open_note(twice, [peter])
    assert opened.ok and len(opened.verified) == 1 and len(opened.unknown) == 2
    assert not open_note(twice, [same_id])


def test_a_known_keys_bad_signature_refuses_the_note() -> None:
    peter = parse_verifier_key(GO_VKEY)
    stranger = Signer.generate("stranger.example")
    signed = sign_note(GO_TEXT, [parse_signer_key(GO_SKEY), stranger])
    assert open_note(signed, [peter, stranger.verifier]).ok
    # The stranger's line, with its signature bytes changed.
    lines = signed.splitlines(keepends=True)
    raw = bytearray(base64.b64decode(lines[-1].split(" ")[2]))
    raw[10] ^= 1
    lines[-1] = f"— stranger.example {base64.b64encode(raw).decode()}\n"
    forged = "".join(lines)
    assert open_note(forged, [peter]).ok  # unknown to this reader: ignored
    refused = open_note(forged, [peter, stranger.verifier])
    assert not refused and "stranger.example does not verify" in refused.reason
    # The text changed under valid signatures.
    changed = GO_NOTE.replace("cryptography", "cryptographi")
    assert "PeterNeumann does not verify" in open_note(changed, [peter]).reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        # A second blank line after the signatures: nothing follows the last blank line.
        (GO_NOTE + "\n", "no signature after its last blank line"),
        # A blank line inside the signature block: the first signature falls into the text.
        (GO_TEXT + "\n\n" + GO_NOTE.split("\n\n")[1], "does not verify"),
        (GO_TEXT, "no blank line"),
        (GO_NOTE[:-1], "does not end with a newline"),
        (GO_NOTE.replace("— ", "- "), "does not start with an em dash"),
        (GO_NOTE.replace("— PeterNeumann ", "— PeterNeumann  "), "malformed"),
        (GO_NOTE.replace("— PeterNeumann", "— Peter+Neumann"), "malformed"),
        (GO_NOTE.replace("=\n", "\n"), "malformed"),
        (GO_NOTE.replace("problem,", "problem,\t"), "control character"),
        (GO_NOTE.encode().replace(b"If", b"\xffIf"), "not UTF-8"),
        (GO_NOTE + GO_NOTE.split("\n\n")[1], "signed the note twice"),
    ],
)
def test_malformed_notes_are_refused_with_a_reason(data: str | bytes, reason: str) -> None:
    opened = open_note(data, [parse_verifier_key(GO_VKEY)])
    assert not opened.ok and reason in opened.reason, opened.reason


def test_the_text_ends_at_the_last_blank_line() -> None:
    # The specification lets the text hold blank lines.
    signer = Signer.generate("example.com/log")
    text = "first paragraph\n\nsecond paragraph\n"
    opened = open_note(sign_note(text, [signer]), [signer.verifier])
    assert opened.ok and opened.text == text


def test_at_most_100_signatures_and_a_bounded_size() -> None:
    peter = parse_verifier_key(GO_VKEY)
    junk = [Signature(f"w{i}.example", bytes(4), bytes(64)) for i in range(99)]
    assert open_note(note.add_signatures(GO_NOTE, junk), [peter]).ok  # 100 lines
    many = note.add_signatures(GO_NOTE, [*junk, Signature("w.example", bytes(4), bytes(64))])
    assert "more than 100" in open_note(many, [peter]).reason
    big = "x" * 2_000_000 + "\n" + GO_NOTE
    assert "more than the" in open_note(big, [peter]).reason
    assert "more than the" in open_note(GO_NOTE, [peter], max_size=100).reason


def test_key_strings_and_names() -> None:
    for bad in (
        "example.com/foo+530d903a",  # no key
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong ID
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # upper case
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # other name
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",  # not base64
        "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # a space
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # no name
    ):
        with pytest.raises(NoteError):
            parse_verifier_key(bad)
    assert not note.valid_key_name("a\u00a0b") and not note.valid_key_name("a\u2003b")
    assert note.valid_key_name("witness.example.com/w1") and note.valid_key_name("ünï")
    with pytest.raises(NoteError):
        Signer.generate("has space")
    with pytest.raises(NoteError):
        parse_signer_key(GO_SKEY.replace("c74f20a3", "c74f20a4"))
    # A base64 key may hold "+": the key string splits at the first two only (Go's rule).
    sumdb = parse_verifier_key(
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
    )
    assert sumdb.name == "sum.golang.org"


def test_signing_refuses_texts_that_could_not_be_opened() -> None:
    signer = Signer.generate("example.com/log")
    for text in ("no newline", "tab\there\n", "carriage\r\n"):
        with pytest.raises(NoteError):
            sign_note(text, [signer])
    with pytest.raises(NoteError):
        sign_note("text\n", [])
    # Re-signing replaces the signer's own old line and keeps the others.
    other = Signer.generate("other.example")
    first = open_note(sign_note("text\n", [signer, other]), [signer.verifier, other.verifier])
    again = sign_note("text\n", [signer], keep=first.verified)
    assert again.count("— example.com/log ") == 1 and again.count("— other.example ") == 1
    assert open_note(again, [signer.verifier, other.verifier]).ok
