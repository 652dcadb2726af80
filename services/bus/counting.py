"""Counting records as a reader sees them, for ``hfos topics list`` and ``describe``.

Watermarks count offsets. On a transactional topic every batch ends with a commit marker
(an offset no consumer ever receives), so a topic of 33 records showed "66 records", and a
consumer group that had read everything showed a lag of 1: the marker after its last
record. Here each partition is read once, ``read_committed``, from its low to its high
watermark as listed: every record delivered is counted, and counted again for each group
whose committed offset is at or below it. Markers and aborted records are never
delivered, so they count for nothing.

Reading costs a pass over the data, so a topic holding more than :data:`COUNT_LIMIT`
offsets is not read and keeps its offset spans (``TopicOffsets.exact`` is False).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from services.bus.inspect import TopicOffsets
from services.bus.logs import LIBRDKAFKA_LOG
from services.bus.polling import take

COUNT_LIMIT = 200_000
"""Offsets per topic read to count exactly: a few seconds of consuming on a 2-core
machine (small records go at well over 100 000 per second), so ``topics list`` over a
busy cluster stays interactive; larger topics show an upper bound instead."""

COUNT_SECONDS = 30.0
"""Give up counting after this long (the broker gone mid-way): the spans stay."""


def count_records(
    client_config: Mapping[str, str],
    topics: Iterable[TopicOffsets],
    limit: int = COUNT_LIMIT,
    seconds: float = COUNT_SECONDS,
) -> None:
    """Fill ``counted`` and ``counted_unread`` of every topic small enough to read."""
    chosen = [t for t in topics if sum(t.high[p] - t.low.get(p, 0) for p in t.high) <= limit]
    ends: dict[tuple[str, int], int] = {}
    counts: dict[str, dict[int, int]] = {t.name: dict.fromkeys(t.high, 0) for t in chosen}
    unread: dict[str, dict[str, int]] = {t.name: dict.fromkeys(t.committed, 0) for t in chosen}
    for offsets in chosen:
        for partition, high in offsets.high.items():
            if high > offsets.low.get(partition, 0):
                ends[(offsets.name, partition)] = high
    by_name = {t.name: t for t in chosen}
    if ends and not _read(client_config, by_name, ends, counts, unread, seconds):
        return  # ran out of time: every topic keeps its offset spans
    for name, offsets in by_name.items():
        offsets.counted = counts[name]
        offsets.counted_unread = unread[name]


def _read(
    client_config: Mapping[str, str],
    topics: Mapping[str, TopicOffsets],
    ends: dict[tuple[str, int], int],
    counts: dict[str, dict[int, int]],
    unread: dict[str, dict[str, int]],
    seconds: float,
) -> bool:
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-count-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        consumer.assign([TopicPartition(t, p, topics[t].low.get(p, 0)) for (t, p) in ends])
        deadline = time.monotonic() + seconds
        while ends and time.monotonic() < deadline:
            for message in take(consumer, 1000, 0.2):
                _tally(message, topics, ends, counts, unread)
        return not ends
    finally:
        consumer.close()


def _tally(
    message: Message,
    topics: Mapping[str, TopicOffsets],
    ends: dict[tuple[str, int], int],
    counts: dict[str, dict[int, int]],
    unread: dict[str, dict[str, int]],
) -> None:
    topic, partition = str(message.topic()), int(message.partition() or 0)
    where = (topic, partition)
    error = message.error()
    if where not in ends:
        return
    if error is not None:
        if error.code() == KafkaError._PARTITION_EOF:
            del ends[where]
        return
    offset = int(message.offset() or 0)
    if offset >= ends[where]:  # written after the watermarks were listed
        del ends[where]
        return
    counts[topic][partition] += 1
    for group, parts in topics[topic].committed.items():
        if partition in parts and offset >= parts[partition]:
            unread[topic][group] += 1
    if offset == ends[where] - 1:
        del ends[where]
