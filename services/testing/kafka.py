"""Small helpers for tests that read topics back on the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from services.bus.consumer import headers_of
from services.bus.polling import take


@dataclass(frozen=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


def read_topic(
    client_config: Mapping[str, str],
    topic: str,
    expected: int,
    timeout: float = 60.0,
    settle: float = 0.0,
) -> list[RawRecord]:
    """Read ``topic`` from the beginning until ``expected`` records (or ``timeout``), then
    ``settle`` seconds more, so that a test also sees records beyond those it expects."""
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"read-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    records: list[RawRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if len(records) >= expected:
                deadline = min(deadline, time.monotonic() + settle)
                if settle <= 0:
                    break
            for message in take(consumer, 1000, 0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(error.str())
                records.append(_raw(message))
    finally:
        consumer.close()
    return records


def _raw(message: Message) -> RawRecord:
    return RawRecord(
        topic=str(message.topic()),
        partition=int(message.partition() or 0),
        offset=int(message.offset() or 0),
        key=message.key(),
        value=message.value(),
        headers=headers_of(message),
    )


def end_offset(client_config: Mapping[str, str], topic: str, seconds: float = 30.0) -> int:
    """The end offset of ``topic``, summed over its partitions: what any write moves. A topic
    created a moment ago may have no leader yet; that is waited out, up to ``seconds``."""
    consumer = Consumer({**client_config, "group.id": f"ends-{uuid.uuid4().hex}"})
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
                return sum(
                    consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                    for p in partitions
                )
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # a new topic's leader is elected within a few hundred ms
    finally:
        consumer.close()
