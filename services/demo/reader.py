"""Reading a scenario's topics back: every partition from its beginning, ``read_committed``
(the executor, the exchange and the supervisor write in transactions; an aborted batch
never happened), every record decoded and checked through ``decode_checked``.

:class:`LiveReader` follows the topics in a thread while a script runs (its waits read
this log); :func:`read_back` reads them once more from the beginning to their end after
the desk has stopped — what the judge sees.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from schemas.catalogue import TOPICS, TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.serde import AvroSerde, Contract, SerdeError
from services.bus.consumer import InvalidEventError, decode_checked
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG
from services.demo.events import EventLog
from services.demo.exceptions import ReadBackError
from services.demo.model import Event

READ_BACK_SECONDS = 60.0
"""A scenario writes a few thousand records; read back in a second or two. 60 s covers a
broker that is still loading its logs after scenario 5's restart."""


class _Topics:
    """The contracts of ``specs`` under ``names``, and a consumer assigned to all their
    partitions from the beginning."""

    def __init__(
        self,
        kafka: Mapping[str, str],
        serde: AvroSerde,
        names: TopicNames,
        specs: Sequence[TopicSpec],
    ) -> None:
        self.serde = serde
        self.contracts: dict[str, tuple[str, Contract]] = {
            names.name(spec): (spec.name, contract(spec, names)) for spec in specs
        }
        self.consumer = Consumer(
            {
                **kafka,
                "group.id": f"hfos-demo-read-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
                "logger": LIBRDKAFKA_LOG,
            }
        )
        self.partitions = self._assign(specs, names)

    def _assign(self, specs: Sequence[TopicSpec], names: TopicNames) -> set[tuple[str, int]]:
        wanted = {(names.name(spec), p) for spec in specs for p in range(spec.partitions)}
        for topic in {t for t, _ in wanted}:
            # Leaders known before assigning at BEGINNING (services.bus.follower).
            with contextlib.suppress(KafkaException):
                self.consumer.list_topics(topic, timeout=5)
        self.consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in sorted(wanted)])
        return wanted

    def decode(self, message: Message, log: EventLog) -> Event | None:
        topic = str(message.topic())
        name, target = self.contracts[topic]
        try:
            key, value = decode_checked(self.serde, target, message)
        except (SerdeError, InvalidEventError) as problem:
            log.refuse(f"{topic}@{message.partition()}:{message.offset()}: {problem}")
            return None
        kind, stamp = message.timestamp()
        logged = stamp if kind == TIMESTAMP_LOG_APPEND_TIME else None
        return Event(
            name, int(message.partition() or 0), int(message.offset() or 0), key, value, logged
        )


def demo_topics() -> tuple[TopicSpec, ...]:
    """Every event topic of the catalogue (not the DLQs, whose values are raw bytes)."""
    return TOPICS


class LiveReader:
    """Follows the topics into :attr:`log` from a daemon thread until :meth:`close`."""

    def __init__(
        self,
        kafka: Mapping[str, str],
        serde: AvroSerde,
        names: TopicNames,
        specs: Sequence[TopicSpec] = TOPICS,
    ) -> None:
        self.log = EventLog()
        self._topics = _Topics(kafka, serde, names, specs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        consumer = self._topics.consumer
        try:
            while not self._stop.is_set():
                events = []
                for message in take(consumer, 1000, 0.05):
                    if message.error() is None:
                        event = self._topics.decode(message, self.log)
                        if event is not None:
                            events.append(event)
                    # Errors (a broker away, EOF) are retried by librdkafka on its own.
                if events:
                    self.log.add(events)
        finally:
            consumer.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def read_back(
    kafka: Mapping[str, str],
    serde: AvroSerde,
    names: TopicNames,
    specs: Sequence[TopicSpec] = TOPICS,
    timeout: float = READ_BACK_SECONDS,
) -> EventLog:
    """Every committed record of ``specs`` from the beginning to the end of each partition
    (once every partition reported its end)."""
    topics = _Topics(kafka, serde, names, specs)
    log = EventLog()
    unread = set(topics.partitions)
    deadline = time.monotonic() + timeout
    try:
        while unread:
            if time.monotonic() > deadline:
                raise ReadBackError(sorted(unread), timeout)
            events = []
            for message in take(topics.consumer, 2000, 0.2):
                error = message.error()
                if error is None:
                    event = topics.decode(message, log)
                    if event is not None:
                        events.append(event)
                elif error.code() == KafkaError._PARTITION_EOF:
                    unread.discard((str(message.topic()), int(message.partition() or 0)))
            log.add(events)
    finally:
        topics.consumer.close()
    return log
