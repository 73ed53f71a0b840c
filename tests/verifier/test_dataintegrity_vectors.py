"""The official vc-di-eddsa test vectors, reproduced byte for byte, and the W3C CCG Data
Integrity assertion fixtures for proof chains."""

from __future__ import annotations

import hashlib
from pathlib import Path

import base58
import pytest
from factories import VECTORS, read_json, read_text

from certreg.keys.keypair import KeyPair, PublicKey
from certreg.keys.multikey import decode_public_key
from certreg.verifier.canonicalize import jcs, rdfc, rdfc_reference
from certreg.verifier.dataintegrity import ProofError, add_proof, hash_data, verify_proofs

KEY = read_json("eddsa/keyPair.json")


def did_key_lookup(proof):
    """did:key verification methods carry the key itself: did:key:<mb>#<mb>."""
    vm = proof["verificationMethod"]
    if not vm.startswith("did:key:") or "#" not in vm:
        raise ProofError(f"not a did:key verification method: {vm}")
    return PublicKey(decode_public_key(vm.split("#", 1)[1]))


def vector_signer() -> KeyPair:
    pair = KeyPair.from_secret_multibase(KEY["privateKeyMultibase"])
    assert pair.public_multibase == KEY["publicKeyMultibase"]
    return pair.with_verification_method(f"did:key:{pair.public_multibase}#{pair.public_multibase}")


SUITES = {
    "eddsa-rdfc-2022": ("eddsa-rdfc-2022", "DataInt"),
    "eddsa-jcs-2022": ("eddsa-jcs-2022", "JCS"),
}


@pytest.mark.parametrize("suite", list(SUITES))
def test_every_intermediate_value_of_the_spec_vector(suite, vector_loader):
    folder, suffix = SUITES[suite]
    unsigned = read_json("eddsa/unsigned.json")
    config = read_json(f"eddsa/{folder}/proofConfig{suffix}.json")
    expected_doc = read_text(f"eddsa/{folder}/canonDoc{suffix}.txt")
    expected_proof = read_text(f"eddsa/{folder}/proofCanon{suffix}.txt")

    if suite == "eddsa-rdfc-2022":
        canon_doc = rdfc(unsigned, vector_loader)
        canon_proof = rdfc(config, vector_loader)
        assert rdfc_reference(unsigned, vector_loader) == canon_doc
    else:
        canon_doc = jcs(unsigned).decode()
        canon_proof = jcs(config).decode()
    assert canon_doc == expected_doc
    assert canon_proof == expected_proof
    doc_hash = hashlib.sha256(canon_doc.encode()).hexdigest()
    proof_hash = hashlib.sha256(canon_proof.encode()).hexdigest()
    assert doc_hash == read_text(f"eddsa/{folder}/docHash{suffix}.txt").strip()
    assert proof_hash == read_text(f"eddsa/{folder}/proofHash{suffix}.txt").strip()
    combined = hash_data(unsigned, config, suite, vector_loader)
    assert combined.hex() == read_text(f"eddsa/{folder}/combinedHash{suffix}.txt").strip()
    signature = vector_signer().sign(combined)
    assert signature.hex() == read_text(f"eddsa/{folder}/sigHex{suffix}.txt").strip()
    assert (
        "z" + base58.b58encode(signature).decode()
        == read_text(f"eddsa/{folder}/sigBTC58{suffix}.txt").strip()
    )


@pytest.mark.parametrize("suite", list(SUITES))
def test_add_proof_reproduces_the_signed_vector(suite, vector_loader):
    folder, suffix = SUITES[suite]
    config = read_json(f"eddsa/{folder}/proofConfig{suffix}.json")
    signed = add_proof(
        read_json("eddsa/unsigned.json"),
        vector_signer(),
        cryptosuite=suite,
        created=config["created"],
        loader=vector_loader,
    )
    assert signed == read_json(f"eddsa/{folder}/signed{suffix}.json")


@pytest.mark.parametrize("suite", list(SUITES))
def test_signed_vector_verifies_and_tampering_is_caught(suite, vector_loader):
    folder, suffix = SUITES[suite]
    signed = read_json(f"eddsa/{folder}/signed{suffix}.json")
    [check] = verify_proofs(signed, did_key_lookup, loader=vector_loader)
    assert check.ok, check.reason
    signed["credentialSubject"]["alumniOf"] = "The School of Counterfeits"
    [check] = verify_proofs(signed, did_key_lookup, loader=vector_loader)
    assert not check.ok
    assert "altered" in check.reason


def test_employment_vector_from_its_canonical_form():
    # Its citizenship context is not shipped (and so not pinned): reproduce the steps from the
    # canonical N-Quads onward, as the vector's README says.
    folder = "eddsa/eddsa-rdfc-2022/employ"
    canon_doc = read_text(f"{folder}/canonDocDataInt.txt").encode()
    canon_proof = read_text(f"{folder}/proofCanonDataInt.txt").encode()
    combined = hashlib.sha256(canon_proof).digest() + hashlib.sha256(canon_doc).digest()
    assert combined.hex() == read_text(f"{folder}/combinedHashDataInt.txt").strip()
    assert vector_signer().sign(combined).hex() == read_text(f"{folder}/sigHexDataInt.txt").strip()


def test_employment_vector_needs_a_context_that_is_not_pinned():
    signed = read_json("eddsa/eddsa-rdfc-2022/employ/signedDataInt.json")
    [check] = verify_proofs(signed, did_key_lookup)
    assert not check.ok
    assert "https://w3id.org/citizenship/v4rc1" in check.reason
    assert "not pinned" in check.reason


MULTI = read_json("eddsa/proof-set-chain/multiKeyPairs.json")


def multi_signer(n: int) -> KeyPair:
    pair = KeyPair.from_secret_multibase(MULTI[f"keyPair{n}"]["privateKeyMultibase"])
    return pair.with_verification_method(f"did:key:{pair.public_multibase}#{pair.public_multibase}")


@pytest.mark.parametrize(
    "name", ["signedProofSet1", "signedProofSet2", "signedProofChain1", "signedProofChain2"]
)
def test_proof_set_and_chain_vectors_verify(name, vector_loader):
    signed = read_json(f"eddsa/proof-set-chain/{name}.json")
    checks = verify_proofs(signed, did_key_lookup, loader=vector_loader)
    assert checks and all(c.ok for c in checks), [c.reason for c in checks]


def test_proof_chain_is_reproduced_byte_for_byte(vector_loader):
    # signedProofChain1: keys 1 and 2 in a set, then key 3 chained over both; chain 2 adds
    # key 4 chained over key 3's proof.
    start = read_json("eddsa/proof-set-chain/signedProofChain1.json")
    config = read_json("eddsa/proof-set-chain/proofChainConfig2.json")
    signed = add_proof(
        start,
        multi_signer(4),
        created=config["created"],
        previous_proof=config["previousProof"],
        loader=vector_loader,
    )
    assert signed == read_json("eddsa/proof-set-chain/signedProofChain2.json")


def test_proof_set_is_reproduced_byte_for_byte(vector_loader):
    start = read_json("eddsa/proof-set-chain/signedProofSet1.json")
    config = read_json("eddsa/proof-set-chain/proofSetConfig2.json")
    signed = add_proof(
        start,
        multi_signer(2),
        created=config["created"],
        proof_id=config.get("id"),
        loader=vector_loader,
    )
    assert signed == read_json("eddsa/proof-set-chain/signedProofSet2.json")


FIXTURES = sorted((VECTORS / "di-assertion-fixtures" / "eddsa-rdfc-2022").glob("*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_data_integrity_assertion_fixtures(path: Path, vector_loader):
    checks = verify_proofs(read_json(path), did_key_lookup, loader=vector_loader)
    if "Ok-" in path.name:
        assert all(c.ok for c in checks), [c.reason for c in checks]
    else:
        assert not all(c.ok for c in checks)
