"""The newest records of a topic that match a key, read backwards in windows.

Kafka reads forwards only. "The last 20 orders of acc-7" on a topic with 30 days of every
account's orders would mean reading it all; instead each partition is read in windows
ending at its end — the newest window first, then the one before it — until ``count``
matching records are found or the partition's beginning is reached. A window is read
``read_committed`` up to its end offset (a transaction marker at the end is never
delivered: the end of the partition, or a later record, closes the window).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from services.bus.inspect import watermarks
from services.bus.logs import LIBRDKAFKA_LOG
from services.bus.polling import take

_TIMEOUT = 30.0
MIN_WINDOW = 500
"""Offsets per window at least: small enough that a recent match costs one short read,
large enough that a sparse key does not cost a round trip per handful of records."""


@dataclass(frozen=True)
class Found:
    """The matching records of one topic, newest last, and whether older ones may exist
    beyond the scan budget."""

    messages: list[Message]
    complete: bool


def newest(
    client_config: Mapping[str, str],
    topic: str,
    count: int,
    key: bytes | None = None,
    budget: int = 1_000_000,
) -> Found:
    """Up to ``count`` newest records of every partition of ``topic`` (with ``key``, when
    given), scanning at most ``budget`` offsets in all."""
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-newest-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=_TIMEOUT).topics[topic]
        found: list[Message] = []
        complete = True
        for partition in sorted(metadata.partitions):
            where = TopicPartition(topic, partition)
            low, high = watermarks(consumer, where)
            matched, scanned, reached_low = _partition(
                consumer, where, low, high, count, key, budget
            )
            budget -= scanned
            complete = complete and (reached_low or len(matched) >= count)
            found.extend(matched)
        return Found(found, complete)
    finally:
        consumer.close()


def _partition(
    consumer: Consumer,
    where: TopicPartition,
    low: int,
    high: int,
    count: int,
    key: bytes | None,
    budget: int,
) -> tuple[list[Message], int, bool]:
    window = max(MIN_WINDOW, count * 4)
    matched: list[Message] = []
    end, scanned = high, 0
    while end > low and len(matched) < count and scanned < budget:
        start = max(low, end - window)
        batch = [m for m in _window(consumer, where, start, end) if key is None or m.key() == key]
        matched = batch + matched
        scanned += end - start
        end = start
    return matched[-count:] if count else [], scanned, end <= low


def _window(consumer: Consumer, where: TopicPartition, start: int, end: int) -> list[Message]:
    """The records of offsets [start, end) of one partition."""
    consumer.assign([TopicPartition(where.topic, where.partition, start)])
    found: list[Message] = []
    deadline = time.monotonic() + _TIMEOUT
    while time.monotonic() < deadline:
        for message in take(consumer, 500, 0.2):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return found
                continue
            if int(message.offset() or 0) >= end:
                return found
            found.append(message)
            if int(message.offset() or 0) == end - 1:
                return found
    return found
