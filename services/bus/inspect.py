"""Reading topics for operators: offsets, consumer-group lag, and records as JSON lines."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas import dlq
from schemas.catalogue import TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.errors import HfosError
from schemas.serde import AvroSerde, SerdeError
from schemas.values import iso_millis, to_json
from services.bus.consumer import headers_of
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG

_TIMEOUT = 30.0


@dataclass
class TopicOffsets:
    """A topic's partitions with their watermarks, each group's committed offsets, and —
    once :func:`services.bus.counting.count_records` has read them — its records.

    Offsets are not records: a transactional producer writes a commit marker after each
    batch (``order.rejected`` showed "66 records" for 33), an aborted batch holds offsets
    no reader sees, and compaction leaves gaps. Counted, ``records`` and ``lag`` are what
    a ``read_committed`` consumer gets; not counted (a topic too large to read), they are
    offset spans, an upper bound, and ``exact`` is False.
    """

    name: str
    low: dict[int, int] = field(default_factory=dict)
    high: dict[int, int] = field(default_factory=dict)
    committed: dict[str, dict[int, int]] = field(default_factory=dict)
    """Consumer group -> partition -> committed offset (the next one it will read)."""
    counted: dict[int, int] | None = None
    """Partition -> records a read_committed consumer reads in [low, high)."""
    counted_unread: dict[str, int] = field(default_factory=dict)
    """Consumer group -> counted records at or after its committed offsets."""

    @property
    def partitions(self) -> int:
        return len(self.high)

    @property
    def exact(self) -> bool:
        return self.counted is not None

    @property
    def records(self) -> int:
        if self.counted is not None:
            return sum(self.counted.values())
        return sum(self.high[p] - self.low.get(p, 0) for p in self.high)

    @property
    def lag(self) -> dict[str, int]:
        """Consumer group -> records it has not committed yet, summed over partitions."""
        if self.counted is not None:
            return {group: self.counted_unread.get(group, 0) for group in self.committed}
        return {
            group: sum(max(self.high.get(p, 0) - offset, 0) for p, offset in parts.items())
            for group, parts in self.committed.items()
        }


def topic_offsets(admin: AdminClient, names: list[str]) -> dict[str, TopicOffsets]:
    """Watermarks of every partition of ``names`` (that exist) and every group's lag."""
    metadata = admin.list_topics(timeout=_TIMEOUT).topics
    result = {name: TopicOffsets(name) for name in names if name in metadata}
    partitions = [TopicPartition(n, p) for n in result for p in metadata[n].partitions]
    ends = ((OffsetSpec.earliest(), "low"), (OffsetSpec.latest(), "high"))  # type: ignore[no-untyped-call]
    for spec, target in ends:
        if partitions:
            for tp, offset in list_offsets(admin, partitions, spec).items():
                getattr(result[tp.topic], target)[tp.partition] = offset
    _add_lag(admin, result)
    return result


# A topic created a moment ago may not have a leader in the broker's metadata yet.
_TRANSIENT = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.LEADER_NOT_AVAILABLE,
    }
)


def watermarks(
    consumer: Consumer, where: TopicPartition, seconds: float = _TIMEOUT
) -> tuple[int, int]:
    """``(low, high)`` of one partition, waiting out a leader not elected yet: a topic
    created a moment ago answers NOT_LEADER for a few hundred milliseconds."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            low, high = consumer.get_watermark_offsets(where, timeout=seconds)
        except KafkaException as error:
            if error.args[0].code() not in _TRANSIENT or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        return int(low), int(high)


def offsets_for_times(
    consumer: Consumer, wanted: list[TopicPartition], seconds: float = _TIMEOUT
) -> list[TopicPartition]:
    """Each partition's first offset at or after its timestamp, waiting out a leader not
    serving yet: the metadata shows a new partition led before the broker has made its log
    (seen on a loaded 2-core broker a moment after a test created its topics), and
    ListOffsets answers NOT_LEADER in between. Any other error is the answer."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return list(consumer.offsets_for_times(wanted, timeout=seconds))
        except KafkaException as error:
            if error.args[0].code() not in _TRANSIENT or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def list_offsets(
    admin: AdminClient,
    partitions: list[TopicPartition],
    spec: OffsetSpec,
    attempts: int = 50,
    isolation: IsolationLevel = IsolationLevel.READ_UNCOMMITTED,
) -> dict[TopicPartition, int]:
    """Each partition's offset for ``spec``, waiting out a leader not serving yet. Read
    uncommitted (the default) the latest offset is the log end, past open transactions."""
    for attempt in range(attempts):
        futures = admin.list_offsets(
            dict.fromkeys(partitions, spec), request_timeout=_TIMEOUT, isolation_level=isolation
        )
        try:
            return {tp: future.result().offset for tp, future in futures.items()}
        except KafkaException as error:
            if error.args[0].code() not in _TRANSIENT or attempt == attempts - 1:
                raise
            time.sleep(0.1)  # 50 x 0.1 s: metadata settles within a few hundred ms here
    raise AssertionError("unreachable")


def _add_lag(admin: AdminClient, topics: dict[str, TopicOffsets]) -> None:
    groups = admin.list_consumer_groups(request_timeout=_TIMEOUT).result(timeout=_TIMEOUT)
    for listing in groups.valid:
        request = [ConsumerGroupTopicPartitions(listing.group_id)]
        answer = admin.list_consumer_group_offsets(request)[listing.group_id].result()
        for tp in answer.topic_partitions or []:
            offsets = topics.get(tp.topic)
            if offsets is None or tp.offset < 0:
                continue
            offsets.committed.setdefault(listing.group_id, {})[tp.partition] = tp.offset


class NoSuchPartitionError(HfosError):
    """``--partition`` names a partition the topic does not have."""

    def __init__(self, topic: str, partition: int, partitions: int) -> None:
        super().__init__(
            f"{topic} has no partition {partition}: its partitions are 0..{partitions - 1}"
        )
        self.topic = topic
        self.partition = partition


@dataclass(frozen=True)
class TailOptions:
    """Where to start and what to print; the start is, in order of precedence: an
    ``offset``, a time (``since_ms``), the beginning, else the ``last`` newest records."""

    from_beginning: bool = False
    follow: bool = False
    max_records: int | None = None
    last: int = 10
    """Otherwise: how many of the newest offsets of each partition to start with."""
    partition: int | None = None
    """Only this partition (default: every one)."""
    offset: int | None = None
    """Start at this offset of each partition read (clamped to its watermarks)."""
    since_ms: int | None = None
    """Start at each partition's first record stamped at or after this time (epoch ms)."""
    key: str | None = None
    """Print only records with this key."""


def tail(
    client_config: Mapping[str, str],
    names: TopicNames,
    serde: AvroSerde,
    topic: str,
    options: TailOptions,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Records of ``topic`` as JSON-able dicts, in partition order, without committing."""
    spec = names.spec_of(topic)
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-tail-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        open_partitions = _assign(consumer, topic, options)
        emitted = 0
        while (open_partitions or options.follow) and not should_stop():
            for message in take(consumer, 500, 0.5):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise SerdeError(topic, error.str())
                    open_partitions.discard(int(message.partition() or 0))
                    continue
                if options.key is not None and message.key() != options.key.encode():
                    continue
                yield render(spec, names, serde, message)
                emitted += 1
                if options.max_records is not None and emitted >= options.max_records:
                    return
    finally:
        consumer.close()


def _assign(consumer: Consumer, topic: str, options: TailOptions) -> set[int]:
    metadata = consumer.list_topics(topic, timeout=_TIMEOUT).topics[topic]
    if metadata.error is not None:
        raise SerdeError(topic, f"cannot read topic: {metadata.error.str()}")
    partitions = sorted(metadata.partitions)
    if options.partition is not None:
        if options.partition not in metadata.partitions:
            raise NoSuchPartitionError(topic, options.partition, len(partitions))
        partitions = [options.partition]
    assignment = []
    for partition in partitions:
        low, high = watermarks(consumer, TopicPartition(topic, partition))
        start = _start(consumer, TopicPartition(topic, partition), low, high, options)
        assignment.append(TopicPartition(topic, partition, start))
    consumer.assign(assignment)
    return {tp.partition for tp in assignment}


def _start(
    consumer: Consumer, where: TopicPartition, low: int, high: int, options: TailOptions
) -> int:
    if options.offset is not None:
        return min(max(options.offset, low), high)
    if options.since_ms is not None:
        asked = TopicPartition(where.topic, where.partition, options.since_ms)
        found = consumer.offsets_for_times([asked], timeout=_TIMEOUT)[0].offset
        return high if found < 0 else max(found, low)  # < 0: nothing that recent
    return low if options.from_beginning else max(low, high - options.last)


def render(
    spec: TopicSpec, names: TopicNames, serde: AvroSerde, message: Message
) -> dict[str, Any]:
    """One record as a JSON-able dict: position, key, decoded value (or why not)."""
    key = message.key()
    line: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": iso_millis(message.timestamp()[1]),
        "key": key.decode(errors="replace") if isinstance(key, bytes) else key,
    }
    raw = message.value()
    if spec.value_schema is None:  # a DLQ: raw bytes and the story of why
        line["value_hex"] = raw.hex() if raw else None
        line["dead_letter"] = vars(dlq.read(headers_of(message)))
        return line
    try:
        line["value"] = to_json(spec.value_schema, serde.decode(contract(spec, names), raw))
    except SerdeError as error:
        line["error"] = f"{type(error).__name__}: {error}"
        line["value_hex"] = raw.hex() if raw else None
    return line


def dumps(line: Mapping[str, Any]) -> str:
    return json.dumps(line, separators=(",", ":"), sort_keys=False)
