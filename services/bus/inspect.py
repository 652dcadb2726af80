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
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas import dlq
from schemas.catalogue import TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from schemas.values import to_json
from services.bus.consumer import headers_of
from services.bus.producer import LIBRDKAFKA_LOG

_TIMEOUT = 30.0


@dataclass
class TopicOffsets:
    """A topic's partitions with their watermarks and each group's lag."""

    name: str
    low: dict[int, int] = field(default_factory=dict)
    high: dict[int, int] = field(default_factory=dict)
    lag: dict[str, int] = field(default_factory=dict)
    """Consumer group -> records it has not committed yet, summed over partitions."""

    @property
    def partitions(self) -> int:
        return len(self.high)

    @property
    def records(self) -> int:
        return sum(self.high[p] - self.low.get(p, 0) for p in self.high)


def topic_offsets(admin: AdminClient, names: list[str]) -> dict[str, TopicOffsets]:
    """Watermarks of every partition of ``names`` (that exist) and every group's lag."""
    metadata = admin.list_topics(timeout=_TIMEOUT).topics
    result = {name: TopicOffsets(name) for name in names if name in metadata}
    partitions = [TopicPartition(n, p) for n in result for p in metadata[n].partitions]
    ends = ((OffsetSpec.earliest(), "low"), (OffsetSpec.latest(), "high"))  # type: ignore[no-untyped-call]
    for spec, target in ends:
        if partitions:
            for tp, offset in _list_offsets(admin, partitions, spec).items():
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


def _list_offsets(
    admin: AdminClient, partitions: list[TopicPartition], spec: OffsetSpec, attempts: int = 50
) -> dict[TopicPartition, int]:
    for attempt in range(attempts):
        futures = admin.list_offsets(dict.fromkeys(partitions, spec), request_timeout=_TIMEOUT)
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
            lag = max(offsets.high.get(tp.partition, 0) - tp.offset, 0)
            offsets.lag[listing.group_id] = offsets.lag.get(listing.group_id, 0) + lag


@dataclass(frozen=True)
class TailOptions:
    from_beginning: bool = False
    follow: bool = False
    max_records: int | None = None
    last: int = 10
    """Without ``from_beginning``: how many of the newest records of each partition."""


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
            for message in consumer.consume(500, 0.5):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise SerdeError(topic, error.str())
                    open_partitions.discard(int(message.partition() or 0))
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
    assignment = []
    for partition in metadata.partitions:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=_TIMEOUT
        )
        start = low if options.from_beginning else max(low, high - options.last)
        assignment.append(TopicPartition(topic, partition, start))
    consumer.assign(assignment)
    return {tp.partition for tp in assignment}


def render(
    spec: TopicSpec, names: TopicNames, serde: AvroSerde, message: Message
) -> dict[str, Any]:
    """One record as a JSON-able dict: position, key, decoded value (or why not)."""
    key = message.key()
    line: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": message.timestamp()[1],
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
