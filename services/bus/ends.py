"""Reading ``read_committed`` to a partition's end, including what has just committed.

A transaction's commit returns to its producer once the coordinator has logged the
decision; the markers that make its records visible to ``read_committed`` readers are
written to the partitions after that (KAFKA-10073 proposed holding the answer until they
are; it was not merged). Until a marker lands, the partition's last stable offset — the
end such a reader sees, where it gets its end-of-partition event — is still before the
records. A reader that stops at its first end-of-partition can therefore miss a
transaction its writer has already seen commit: ``hfos recovery history`` printed
nothing for three lines the supervisor's journal had committed a moment before (once, in
a CI run).

So a read "to the end" here ends at the log end each partition had when the read began,
every record counted, committed or not, and waits for the transactions open there to end:
a committed one's records are delivered, an aborted one's skipped, and either way the
reader's end moves past them. Records written after the read began are not part of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from services.bus.exceptions import EndNotReachedError, MissingTopicError, ReadFailedError
from services.bus.inspect import list_offsets
from services.bus.logs import LIBRDKAFKA_LOG
from services.bus.polling import take

Where = tuple[str, int]
_TIMEOUT = 30.0


def log_ends(
    client_config: Mapping[str, str], partitions: list[TopicPartition]
) -> dict[Where, int]:
    """Each partition's log end now — past every record written, committed or not
    (``ListOffsets`` read uncommitted), unlike a ``read_committed`` consumer's end.
    Raises :class:`MissingTopicError` for a topic the broker does not have."""
    if not partitions:
        return {}
    admin = AdminClient(dict(client_config), logger=LIBRDKAFKA_LOG)
    known = admin.list_topics(timeout=_TIMEOUT).topics
    for topic in sorted({tp.topic for tp in partitions}):
        if topic not in known or known[topic].error is not None:
            raise MissingTopicError(topic)
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    return {
        (tp.topic, tp.partition): offset
        for tp, offset in list_offsets(admin, partitions, latest).items()
    }


def log_starts(
    client_config: Mapping[str, str], partitions: list[TopicPartition], since_ms: int
) -> list[TopicPartition]:
    """Where a read of records from ``since_ms`` on starts in each partition: the first
    offset at or after that time among *all* records (read uncommitted), or the log end.

    A ``read_committed`` consumer's own ``offsets_for_times`` looks below the last stable
    offset only: records whose commit markers are still on their way are not found, the
    answer is "none", and a start at the end then resolved past them - the second way
    ``hfos recovery history`` missed lines committed a moment before (a CI run after the
    ends were fixed). Asked read uncommitted, the start is before them; the reader still
    delivers only what commits."""
    if not partitions:
        return []
    admin = AdminClient(dict(client_config), logger=LIBRDKAFKA_LOG)
    since = OffsetSpec.for_timestamp(since_ms)
    found = {
        (tp.topic, tp.partition): o for tp, o in list_offsets(admin, partitions, since).items()
    }
    ends = log_ends(client_config, partitions)
    return [
        TopicPartition(tp.topic, tp.partition, found[where] if found[where] >= 0 else ends[where])
        for tp in partitions
        for where in [(tp.topic, tp.partition)]
    ]


def read_to_ends(
    consumer: Consumer, starts: list[TopicPartition], ends: Mapping[Where, int], seconds: float
) -> Iterator[Message]:
    """The records of ``starts`` (assigned here) up to ``ends``, in each partition's order.

    ``consumer`` must read ``read_committed`` with ``enable.partition.eof``. Raises
    :class:`EndNotReachedError` if an end is not reached within ``seconds`` (a transaction
    still open there: the broker aborts one left open after its timeout), and
    :class:`ReadFailedError` on a consumer error that is not retriable.
    """
    waiting = {
        (tp.topic, tp.partition): ends[(tp.topic, tp.partition)]
        for tp in starts
        if tp.offset < 0 or tp.offset < ends[(tp.topic, tp.partition)]
    }
    reached: dict[Where, int] = {}
    consumer.assign(starts)
    deadline = time.monotonic() + seconds
    while waiting:
        if time.monotonic() > deadline:
            raise EndNotReachedError(
                {where: (reached.get(where, -1), end) for where, end in waiting.items()}, seconds
            )
        for message in take(consumer, 500, 0.2):
            where = (str(message.topic()), int(message.partition() or 0))
            end = waiting.get(where)
            if end is None:
                continue  # done with this partition: records after the read began
            offset = int(message.offset() or 0)
            error = message.error()
            if error is not None:
                if _end_of_partition(error, where[0]):
                    # The reader's end, the last stable offset: before ``end`` it is a
                    # transaction still open (or its markers still on their way).
                    reached[where] = offset
                    if offset >= end:
                        del waiting[where]
                continue
            if offset >= end:
                del waiting[where]
                continue
            reached[where] = offset + 1
            yield message
            if offset == end - 1:
                del waiting[where]


def _end_of_partition(error: KafkaError, topic: str) -> bool:
    """Whether an error event is the end of its partition; False for an error librdkafka
    retries on its own. Any other error is raised."""
    if error.code() == KafkaError._PARTITION_EOF:
        return True
    if error.retriable():
        return False
    raise ReadFailedError(topic, error.str())
