"""What a dead-letter record carries besides the original bytes and key (SPEC §0).

The original headers are kept as they were; these are added, all prefixed ``hfos.dlq.``,
so a DLQ record says where it came from and why it is there, and can be replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "hfos.dlq."
SOURCE_TOPIC = PREFIX + "source.topic"
SOURCE_PARTITION = PREFIX + "source.partition"
SOURCE_OFFSET = PREFIX + "source.offset"
ERROR_TYPE = PREFIX + "error.type"
ERROR_MESSAGE = PREFIX + "error.message"
CONSUMER = PREFIX + "consumer"

# Kafka headers are bytes; 4 KiB keeps a pathological message from bloating the record.
_MAX_MESSAGE_BYTES = 4096

HeaderList = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True)
class DeadLetter:
    """Where a dead-lettered record came from, and the error that sent it there."""

    source_topic: str
    source_partition: int
    source_offset: int
    error_type: str
    error_message: str
    consumer: str


def headers_for(letter: DeadLetter, original: Sequence[tuple[str, bytes | None]]) -> HeaderList:
    """The original headers followed by the ``hfos.dlq.*`` ones describing ``letter``."""
    added: HeaderList = [
        (SOURCE_TOPIC, letter.source_topic.encode()),
        (SOURCE_PARTITION, str(letter.source_partition).encode()),
        (SOURCE_OFFSET, str(letter.source_offset).encode()),
        (ERROR_TYPE, letter.error_type.encode()),
        (ERROR_MESSAGE, letter.error_message.encode()[:_MAX_MESSAGE_BYTES]),
        (CONSUMER, letter.consumer.encode()),
    ]
    kept: HeaderList = [(k, v) for k, v in original if not k.startswith(PREFIX)]
    return kept + added


def read(headers: Sequence[tuple[str, bytes | None]]) -> DeadLetter:
    """The :class:`DeadLetter` described by a DLQ record's headers."""
    found = {key: (value or b"").decode(errors="replace") for key, value in headers}
    return DeadLetter(
        source_topic=found.get(SOURCE_TOPIC, ""),
        source_partition=int(found.get(SOURCE_PARTITION, "-1")),
        source_offset=int(found.get(SOURCE_OFFSET, "-1")),
        error_type=found.get(ERROR_TYPE, ""),
        error_message=found.get(ERROR_MESSAGE, ""),
        consumer=found.get(CONSUMER, ""),
    )
