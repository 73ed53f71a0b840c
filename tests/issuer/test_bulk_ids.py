"""Bulk issuance's ids (persons, assessments, certifications, credentials) are random UUIDs
written exactly as the uuid module writes them."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.issuer.bulk import _uuid4, _uuid4_text


@settings(max_examples=1000)
@given(st.binary(min_size=16, max_size=16))
def test_an_id_is_written_as_the_uuid_module_writes_it(random: bytes) -> None:
    assert _uuid4_text(random) == str(uuid.UUID(bytes=random, version=4))


def test_ids_are_random_version_4_uuids() -> None:
    ids = [_uuid4() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
