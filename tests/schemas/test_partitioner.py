"""hfos's murmur2 is Kafka's Java ``Utils.murmur2``: every client agrees on partitions."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from schemas.partitioner import faust_partitioner, murmur2, partition_of

# The vectors of Kafka's own UtilsTest.testMurmur2 (clients/src/test/.../UtilsTest.java).
JAVA_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("data", "expected"), JAVA_VECTORS)
def test_murmur2_when_java_test_vector_then_same_hash(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


@given(st.binary(max_size=64))
def test_murmur2_when_any_bytes_then_agrees_with_aiokafka(data: bytes) -> None:
    theirs = aiokafka_murmur2(data)
    assert murmur2(data) == (theirs - (1 << 32) if theirs >= 1 << 31 else theirs)


@given(st.binary(min_size=1, max_size=32), st.integers(1, 64))
def test_faust_partitioner_when_partitions_unsorted_then_same_as_partition_of(
    key: bytes, count: int
) -> None:
    shuffled = list(reversed(range(count)))
    assert faust_partitioner(key, shuffled, shuffled) == partition_of(key, count)
