"""One partitioner for every producer (SPEC §0): murmur2, as Kafka's Java clients do.

An account's records of every account topic must meet on one partition number, so that
one worker owns all of them; that holds only if every producer maps a key the same way.
librdkafka's default is CRC32 (``consistent_random``), aiokafka's and Java's murmur2:
``hfos topics produce``, the executor, the exchange and the simulator used CRC32 while the
stream worker used murmur2 (an account's balance on partition 3, its trigger on 4).

- confluent-kafka producers take :data:`LIBRDKAFKA_PARTITIONER` (``services.bus.producer``
  sets it on every producer it builds);
- the stream worker's producer takes :func:`faust_partitioner` (``streams.app``);
- :func:`partition_of` is the same mapping in Python, for code that must know where a key
  lives (the breaker's staleness check) and for tests.

A null key has no partition of its own: librdkafka's ``murmur2_random`` and aiokafka
both pick one at random, as Java does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

LIBRDKAFKA_PARTITIONER = "murmur2_random"
"""librdkafka's name for Java's partitioner: murmur2 for keys, random for null keys."""

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` (32-bit, signed like Java's ``int``)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length % 4
    base = length - tail
    if tail == 3:  # noqa: PLR2004 - the three tail bytes of Java's switch fall through
        h ^= data[base + 2] << 16
    if tail >= 2:  # noqa: PLR2004
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Java's default partitioner gives ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def faust_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """Faust's ``producer_partitioner``: :func:`partition_of`, random for a null key.
    Faust passes the partitions as a list made from a set: sorted here, never trusted."""
    if key is None:
        return random.choice(available or all_partitions)  # noqa: S311 - load spreading only
    return sorted(all_partitions)[partition_of(key, len(all_partitions))]
