"""Bad input to offline verification (issue 14 item 5): truncated, re-encoded, altered and
replayed payloads, and QR codes of other things, each refused in words; and properties: no
mutation of a valid payload is VALID unless it decodes to the very bytes that were signed, and
nothing raises."""

from __future__ import annotations

import base64
import gzip
import zlib
from pathlib import Path

import base45
import cbor2
import pytest
import qrcode
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from offline_support import NOW, OfflineBody, fixed_clock

from certreg.issuer.cli import main
from certreg.verifier.offline import payload
from certreg.verifier.offline.cache import Cache
from certreg.verifier.offline.sync import sync
from certreg.verifier.offline.verify import OfflineResult, OfflineVerdict, verify_offline

#: A text shaped like an EU Digital COVID Certificate's QR (HC1: + base45): not certreg's.
DCC_LIKE = (
    "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I5BROCWAAT4V22F/8X*G3M9JUPY"
    "0BX/KR96R/S09T./0LWTKD33236J3TA3M*4VV2 73-E3GG396B-43O058YIB73A*G3W19UEBY5:PI0EG"
    "SP4*2DN43U*0CEBQ/GXQFY73CIBC:G 7376BXBJBAJ UNFMJCRN0H3PQN*E33H3OA70M3FMJIJN523.K"
    "5QZ4A+2XEN QT QTHC31M3+E32R44$28A9H0D3ZCL4JMYAZ+S-A5$XKX6T2YC 35H/ITX8GL2-LH/CJT"
    "K96L6SR9MU9RFGJA6Q3QR$P2OIC0JVLA8J3ET3:H3A+2+33U SAAUOT3TPTO4UBZIC0JKQTL*QDKBO.A"
    "I9BVYTOCFOPS4IJCOT0$89NT2V457U8+9W2KQ-7LF9-DF07U$B97JJ1D7WKP/HLIJLRKF1MFHJP7NVDE"
    "BU1J*Z222E.GJF67Z 5NHDO4SOIA00GMSE*$C2J6QUE:MHVT7W3AGCB7.SIWKKGVL4TKMF0MRZ2K5+9%"
    "%I:D+EAVN2O6F*55/80:K3:CB%BWH5TWQ8HBE/I:MCVN6AIRUF7V*TZ%A9:QH9JFT4FVMCUM67ETTHT4"
    "OP$V:KL/9VQ:9H.U0 JPG4:$A7.M1UFE76FNOT8SGAT$KKE/VX7HC%I99AIPRFY2*G5Y:C49GSS6T84I"
    ":L2IJ:OVDWMBJ6B3VFXA2V3J11$V4MY63U-BWL1A:S:M0ACO6C7NKFK6OV*QU.JZIWV*CA8H32K:/4*R"
    "1*RR$BH1M9V74 X9+FS2PF7H7HIQQ11R+4U$9R2RSC%79HMT5P0YVW/6AF9GQ2:KF2GF11T8JF9T$AVJ"
    "EH5KUPCF 1VA7A/2TN6TJ+2XQFP/P"
)
BODY = OfflineBody()
QR = BODY.qr()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Cache:
    folder = tmp_path_factory.mktemp("cache")
    sync(folder, BODY.public_url, fetch=BODY.fetch, resolver=BODY.resolver(), clock=fixed_clock())
    return Cache.open(folder)


def cose_of(text: str) -> list:
    value = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    return list(value.value)


def text_of(cose: bytes, compress=lambda data: zlib.compress(data, 9)) -> str:  # type: ignore[no-untyped-def]
    return "CR1:" + base45.b45encode(compress(cose)).decode()


def check(result: OfflineResult, verdict: OfflineVerdict, words: str) -> None:
    assert result.verdict is verdict, result.summary
    assert words in result.summary, result.summary
    assert result.certificate is None or verdict is not OfflineVerdict.INVALID


def test_a_valid_payload_is_valid(cache: Cache) -> None:
    assert verify_offline(QR, cache, now=NOW).verdict is OfflineVerdict.VALID


@pytest.mark.parametrize("keep", [len(QR) - 1, len(QR) - 3, len(QR) // 2, 10, 4])
def test_a_truncated_payload_is_refused(cache: Cache, keep: int) -> None:
    result = verify_offline(QR[:keep], cache, now=NOW)
    assert result.verdict is OfflineVerdict.INVALID
    assert "cut" in result.summary or "not valid base45" in result.summary, result.summary


def test_claims_re_encoded_in_another_map_order_break_the_signature(cache: Cache) -> None:
    protected, unprotected, claims_bytes, signature = cose_of(QR)
    claims = cbor2.loads(claims_bytes)
    reordered = cbor2.dumps(dict(reversed(list(claims.items()))))
    assert reordered != claims_bytes and cbor2.loads(reordered) == claims
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, reordered, signature]))
    check(verify_offline(text_of(cose), cache, now=NOW), OfflineVerdict.INVALID, "altered")


def test_another_envelope_around_the_same_signed_bytes_reads_the_same(cache: Cache) -> None:
    """The tag and the compression level are not signed: what is signed (protected header and
    claims) is, byte for byte, so an untagged COSE_Sign1 or another zlib level verifies the
    same facts. Another compression format is refused."""
    parts = cose_of(QR)
    untagged = text_of(cbor2.dumps(parts))
    fast = text_of(cbor2.dumps(cbor2.CBORTag(18, parts)), lambda d: zlib.compress(d, 1))
    for text in (untagged, fast):
        result = verify_offline(text, cache, now=NOW)
        assert result.verdict is OfflineVerdict.VALID
        assert result.certificate == payload.decode(QR).certificate
    tagged = cbor2.dumps(cbor2.CBORTag(18, parts))
    for other in (gzip.compress, lambda d: zlib.compress(d)[2:-4]):  # gzip, raw deflate
        result = verify_offline(text_of(tagged, other), cache, now=NOW)
        check(result, OfflineVerdict.INVALID, "does not decompress")
    wrong_tag = text_of(cbor2.dumps(cbor2.CBORTag(98, parts)))
    check(verify_offline(wrong_tag, cache, now=NOW), OfflineVerdict.INVALID, "not a COSE_Sign1")


@pytest.mark.parametrize(
    ("path", "value"),
    [((-65537, 1), "Anna Schmidd"), ((4,), 1988150400), ((5,), 1735689600),
     ((-65537, 5), [[0, "status/message-1", 94568, 2]])],
    ids=["name", "expiry", "effective", "status index"],
)  # fmt: skip
def test_an_altered_fact_breaks_the_signature(cache: Cache, path: tuple, value: object) -> None:
    protected, unprotected, claims_bytes, signature = cose_of(QR)
    claims = cbor2.loads(claims_bytes)
    target = claims
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    altered = cbor2.dumps(claims)
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, altered, signature]))
    result = verify_offline(text_of(cose), cache, now=NOW)
    check(result, OfflineVerdict.INVALID, "the QR code was altered or is not this body's")


def test_one_altered_byte_of_the_name_breaks_the_signature(cache: Cache) -> None:
    protected, unprotected, claims_bytes, signature = cose_of(QR)
    at = claims_bytes.index(b"Anna")
    altered = claims_bytes[:at] + b"E" + claims_bytes[at + 1 :]
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, altered, signature]))
    check(verify_offline(text_of(cose), cache, now=NOW), OfflineVerdict.INVALID, "altered")


@pytest.mark.parametrize(
    ("text", "words"),
    [("https://cb.example/c/CWI-2026-000123-7", "does not start CR1:"),
     ("Anna Schmidt, welding inspector", "does not start CR1:"),
     ("HC1:6BFOXN%TS3DHPVO13J /G-/2YRVA.Q/R8VRU2FC1J9M$DI9C", "does not start CR1:"),
     ("CR1:", "cut short"), ("CR1:!!!", "not valid base45"), ("", "does not start"),
     ("CR1:" + "0" * 5000, "longer than any QR code holds")],
    ids=["url", "text", "eu-dcc", "empty-payload", "bad-base45", "empty", "too-long"],
)  # fmt: skip
def test_texts_that_are_not_certificates_are_refused_in_words(
    cache: Cache, text: str, words: str
) -> None:
    result = verify_offline(text, cache, now=NOW)
    assert result.verdict is OfflineVerdict.INVALID
    assert words in result.summary or words in result.checks[0].reason, result.summary


@pytest.mark.parametrize("value", [None, 42, b"CR1:", ["CR1:"]])
def test_what_is_not_text_is_refused_and_never_raises(cache: Cache, value: object) -> None:
    assert verify_offline(value, cache, now=NOW).verdict is OfflineVerdict.INVALID


def test_a_zlib_bomb_is_refused(cache: Cache) -> None:
    bomb = "CR1:" + base45.b45encode(zlib.compress(b"\x00" * 1_000_000, 9)).decode()
    if len(bomb) > payload.MAX_TEXT:
        pytest.skip("the bomb does not fit a QR code's text")
    check(verify_offline(bomb, cache, now=NOW), OfflineVerdict.INVALID, "more than a certificate")


# -- QR images from the command line -----------------------------------------------------------


def qr_png(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    qrcode.make(text).save(path)
    return path


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [(QR, 0, "VALID as of"),
     ("https://cb.example/c/CWI-2026-000123-7", 1, "does not start CR1:"),
     ("a note", 1, "does not start CR1:"),
     (DCC_LIKE, 1, "does not start CR1:")],
    ids=["certificate", "url", "text", "eu-dcc"],
)  # fmt: skip
def test_qr_images_of_other_things_are_refused_in_words(
    tmp_path: Path, cache: Cache, text: str, code: int, words: str
) -> None:
    image = qr_png(tmp_path, text, "qr")
    done = CliRunner().invoke(
        main, ["verify", "--offline", "--cache", str(cache.folder), str(image)]
    )
    assert done.exit_code == code, done.output
    assert words in done.output, done.output


def test_an_image_without_a_qr_code_or_a_file_that_is_no_image_is_no_verdict(
    tmp_path: Path, cache: Cache
) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 4)
    for path, words in ((blank, "no QR code could be read"), (noise, "neither a QR code")):
        args = ["verify", "--offline", "--cache", str(cache.folder), str(path)]
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 2, done.output
        assert words in done.output, done.output
    done = CliRunner().invoke(main, ["verify", "--offline", "--cache", str(tmp_path / "none"), QR])
    assert done.exit_code == 2 and "certreg sync" in done.output


# -- properties --------------------------------------------------------------------------------

_SIGNED = payload.decode(QR)


def _same_signed_bytes(text: str) -> bool:
    try:
        read = payload.decode(text)
    except payload.PayloadError:
        return False
    return (read.protected, read.payload, read.signature, read.kid) == (
        _SIGNED.protected, _SIGNED.payload, _SIGNED.signature, _SIGNED.kid,
    )  # fmt: skip


_PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY_SETTINGS
@given(position=st.integers(0, len(QR) - 1), char=st.sampled_from(base45.BASE45_CHARSET))
def test_any_changed_character_is_never_valid_unless_the_signed_bytes_are_the_same(
    cache: Cache, position: int, char: str
) -> None:
    text = QR[:position] + char + QR[position + 1 :]
    result = verify_offline(text, cache, now=NOW)
    if result.verdict is OfflineVerdict.VALID:
        assert _same_signed_bytes(text)


@_PROPERTY_SETTINGS
@given(data=st.data())
def test_any_mutation_of_the_cose_bytes_is_never_valid_unless_it_decodes_the_same(
    cache: Cache, data: st.DataObject
) -> None:
    cose = bytearray(zlib.decompress(base45.b45decode(QR[4:])))
    kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    at = data.draw(st.integers(0, len(cose) - 1))
    if kind == "flip":
        cose[at] ^= data.draw(st.integers(1, 255))
    elif kind == "insert":
        cose[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        del cose[at : at + data.draw(st.integers(1, 8))]
    else:
        del cose[at:]
    text = text_of(bytes(cose))
    result = verify_offline(text, cache, now=NOW)
    assert result.summary  # always words, never an exception
    if result.verdict is OfflineVerdict.VALID:
        assert _same_signed_bytes(text)


@_PROPERTY_SETTINGS
@given(
    text=st.text(max_size=600)
    | st.binary(max_size=400).map(lambda b: "CR1:" + base45.b45encode(b).decode())
)
def test_arbitrary_text_never_raises_and_is_never_valid(cache: Cache, text: str) -> None:
    result = verify_offline(text, cache, now=NOW)
    assert result.verdict in (OfflineVerdict.INVALID, OfflineVerdict.UNKNOWN_BODY)


def test_base64_of_the_payload_is_not_a_payload(cache: Cache) -> None:
    text = "CR1:" + base64.b64encode(zlib.decompress(base45.b45decode(QR[4:]))).decode()
    assert verify_offline(text, cache, now=NOW).verdict is OfflineVerdict.INVALID
