"""Ids sort by creation time and never collide."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.entities import new_id, now_ms


def test_ids_are_uuid7_hex_and_sort_in_creation_order() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(hex=ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


@settings(max_examples=20)
@given(st.integers(min_value=1, max_value=50))
def test_id_timestamp_is_now(n: int) -> None:
    before = now_ms()
    ids = [new_id() for _ in range(n)]
    after = now_ms()
    for value in ids:
        ms = int(value[:12], 16)
        assert before <= ms <= after + 1
