"""The one way services outside Faust consume events: decode once, handle, then commit.

Offsets are stored only after the handler returned and committed only after the
producer's queue is flushed, so a committed offset never runs ahead of a durable effect;
a crash redelivers, and handlers make redelivery harmless by keying every effect on a
deterministic id. A record that cannot be decoded or validated goes to ``<topic>.dlq``
with its raw bytes, key, headers, source position and the error — and the consumer moves
on. Any other handler exception stops the consumer without committing that record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas import dlq
from schemas.catalogue import dlq_name
from schemas.recordkey import check_key, decode_key
from schemas.serde import AvroSerde, Contract, Record, SerdeError
from schemas.values import rule_problems
from services.bus.clients import LONG_LIVED
from services.bus.exceptions import BusError
from services.bus.polling import take
from services.bus.producer import EventProducer
from streams import metrics


class InvalidEventError(BusError):
    """A decoded event that breaks a rule its schema cannot express; it goes to the DLQ."""

    def __init__(self, topic: str, field: str, problem: str) -> None:
        super().__init__(f"{topic}: {field}: {problem}")
        self.topic = topic
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class ConsumedEvent:
    """One decoded record and where it came from."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Record
    headers: list[tuple[str, bytes | None]]
    timestamp_ms: int


Handler = Callable[[ConsumedEvent], None]
Validator = Callable[[Contract, Record], None]


def value_rules(contract: Contract, record: Record) -> None:
    """The default validator: finite doubles, fractions in [0, 1] (``schemas.values``)."""
    problems = rule_problems(contract.schema_name, record)
    if problems:
        field = problems[0].split(":", 1)[0]
        raise InvalidEventError(contract.topic, field, "; ".join(problems))


class EventConsumer:
    """Consume ``contracts``' topics as ``group_id``, handing each event to ``handler``."""

    def __init__(  # noqa: PLR0913 - each argument is a distinct, required collaborator
        self,
        client_config: Mapping[str, str],
        group_id: str,
        contracts: Sequence[Contract],
        serde: AvroSerde,
        producer: EventProducer,
        handler: Handler,
        *,
        validator: Validator | None = value_rules,
        commit_every: int = 500,
        commit_interval_seconds: float = 1.0,
        from_beginning: bool = True,
        instance_id: str | None = None,
    ) -> None:
        self._contracts = {contract.topic: contract for contract in contracts}
        self._serde = serde
        self._producer = producer
        self._handler = handler
        self._validator = validator
        self._name = group_id
        self._commit_every = commit_every
        self._commit_interval = commit_interval_seconds
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        # Static membership (KIP-345): a restarted process with the same instance id takes
        # its partitions back at once instead of waiting out the dead member's session.
        static = {"group.instance.id": instance_id} if instance_id else {}
        self._consumer = Consumer(
            {
                **client_config,
                **static,
                # 10 s instead of 45 s: a crashed consumer's partitions move within 10 s.
                "session.timeout.ms": 10_000,
                "group.id": group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest" if from_beginning else "latest",
                "partition.assignment.strategy": "cooperative-sticky",
                **LONG_LIVED,
            }
        )
        self._consumer.subscribe(list(self._contracts), on_revoke=self._on_revoke)

    def poll(self, timeout: float = 0.5, max_records: int = 500) -> int:
        """Handle up to ``max_records`` records; commit when due. Returns how many."""
        messages = take(self._consumer, max_records, timeout)
        handled = 0
        for message in messages:
            if self._process(message):
                handled += 1
        self._commit_if_due()
        return handled

    def run(self, should_stop: Callable[[], bool], timeout: float = 0.5) -> None:
        """Poll until ``should_stop()``; then commit what was handled and close."""
        try:
            while not should_stop():
                self.poll(timeout)
        finally:
            self.close()

    def commit(self) -> None:
        """Make effects durable (flush the producer), then commit the stored offsets."""
        if self._uncommitted == 0:
            return
        if self._producer.flush(30.0):
            raise BusError("effects not acknowledged within 30 s; offsets left uncommitted")
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as error:
            if error.args[0].code() != KafkaError._NO_OFFSET:
                raise
        self._uncommitted = 0
        self._last_commit = time.monotonic()

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._consumer.close()

    def _process(self, message: Message) -> bool:
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return False
            raise KafkaException(error)
        started = time.perf_counter()
        topic = str(message.topic())
        event = self._decode(topic, message)
        if event is not None:
            try:
                self._handler(event)
            except InvalidEventError as invalid:
                self._dead_letter(message, invalid)
            metrics.EVENTS_PROCESSED.labels(topic, self._name).inc()
        self._consumer.store_offsets(message)
        self._uncommitted += 1
        metrics.PROCESSING_SECONDS.labels(self._name).observe(time.perf_counter() - started)
        return True

    def _decode(self, topic: str, message: Message) -> ConsumedEvent | None:
        contract = self._contracts[topic]
        try:
            key, value = decode_checked(self._serde, contract, message, self._validator)
        except (SerdeError, InvalidEventError) as error:
            self._dead_letter(message, error)
            return None
        return ConsumedEvent(
            topic=topic,
            partition=int(message.partition() or 0),
            offset=int(message.offset() or 0),
            key=key,
            value=value,
            headers=headers_of(message),
            timestamp_ms=message.timestamp()[1],
        )

    def _dead_letter(self, message: Message, error: Exception) -> None:
        dead_letter(self._producer, message, error, self._name)

    def _commit_if_due(self) -> None:
        due = time.monotonic() - self._last_commit >= self._commit_interval
        if self._uncommitted >= self._commit_every or (self._uncommitted and due):
            self.commit()

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Commit what was handled before the partitions move, so the next owner does not
        # redo it (it would be harmless — effects are idempotent — but wasteful).
        del consumer, partitions
        self.commit()


def decode_checked(
    serde: AvroSerde,
    contract: Contract,
    message: Message,
    validator: Validator | None = value_rules,
) -> tuple[str | None, Record]:
    """The key and value of ``message`` once every rule holds: a UTF-8 key that is what
    the topic says it must be (:mod:`schemas.recordkey`), a value that decodes and passes
    ``validator``. Raises :class:`SerdeError` / :class:`InvalidEventError` for the DLQ."""
    key = decode_key(contract.topic, message.key())
    value = serde.decode(contract, message.value())
    if validator is not None:
        validator(contract, value)
    check_key(contract, key, value)
    return key, value


def dead_letter(producer: EventProducer, message: Message, error: Exception, consumer: str) -> None:
    """Send ``message`` as it came (bytes, key, headers) to ``<topic>.dlq``, with where it
    came from and ``error`` in the ``hfos.dlq.*`` headers. Every consumer outside Faust
    dead-letters through here (in a transaction when ``producer`` is transactional)."""
    topic = str(message.topic())
    letter = dlq.DeadLetter(
        source_topic=topic,
        source_partition=int(message.partition() or 0),
        source_offset=int(message.offset() or 0),
        error_type=type(error).__name__,
        error_message=str(error),
        consumer=consumer,
    )
    headers = dlq.headers_for(letter, headers_of(message))
    producer.send_raw(dlq_name(topic), message.key(), message.value(), headers)
    metrics.DLQ_RECORDS.labels(topic, letter.error_type).inc()


def headers_of(message: Message) -> list[tuple[str, bytes | None]]:
    """A record's headers as (name, bytes) pairs, whichever form the client gave them in."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(key, value.encode() if isinstance(value, str) else value) for key, value in pairs]
