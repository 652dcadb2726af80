"""Small helpers for tests that read topics back on the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message

from services.bus.consumer import headers_of


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
            for message in consumer.consume(1000, 0.5):
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
