"""The event bus rules inside Faust, the same as outside it (``services.bus``).

Agents read raw bytes and decode once, here: a record that cannot be decoded or breaks a
value rule goes to ``<topic>.dlq`` with its bytes, key, headers, source position and the
error, and the agent moves on. Effects are sent through Faust's producer before the agent
takes the next event; Faust flushes that producer before it commits an offset
(``Consumer._commit_offsets``), so a committed offset never runs ahead of its effects.
Outputs are encoded by :class:`AvroCodec` in the Confluent wire format.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faust
from faust.serializers import codecs

from schemas import dlq
from schemas.catalogue import TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.recordkey import check_key, decode_key
from schemas.serde import AvroSerde, Contract, Record, SerdeError
from schemas.values import ValueRuleError, check_rules
from streams import metrics


class AvroCodec(codecs.Codec):
    """Faust codec for one contract: dicts in, Confluent-framed Avro out (and back)."""

    def __init__(self, serde: AvroSerde, target: Contract) -> None:
        super().__init__()
        self._serde = serde
        self._contract = target

    def _dumps(self, obj: Any) -> bytes:
        return self._serde.encode(self._contract, obj)

    def _loads(self, s: bytes) -> Any:
        return self._serde.decode(self._contract, s)


def source_topic(app: faust.App, spec: TopicSpec, names: TopicNames) -> Any:
    """A catalogue topic read as raw bytes, so that decoding failures can be dead-lettered."""
    return app.topic(
        names.name(spec),
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partitions,
        internal=False,
    )


def sink_topic(app: faust.App, spec: TopicSpec, names: TopicNames, serde: AvroSerde) -> Any:
    """A catalogue topic written with the Avro codec of its contract."""
    return app.topic(
        names.name(spec),
        key_serializer="raw",
        value_serializer=AvroCodec(serde, contract(spec, names)),
        partitions=spec.partitions,
        internal=False,
    )


def dlq_topic(app: faust.App, spec: TopicSpec, names: TopicNames) -> Any:
    return app.topic(
        names.dlq(spec),
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partitions,
        internal=False,
    )


@dataclass(frozen=True)
class Decoded:
    """A decoded record of a source topic, with the identity of its Kafka record."""

    key: str | None
    value: Record
    topic: str
    partition: int
    offset: int
    raw: bytes | None
    headers: list[tuple[str, bytes | None]]
    raw_key: bytes | None = None
    """The key's bytes as they came: what a dead letter carries, even when not UTF-8."""


class EventDecoder:
    """Decodes one event of ``specs``' topics at a time, dead-lettering what breaks a rule:
    what :func:`decoded` does for a stream, for agents that take events in batches.
    ``dead_letters`` is a DLQ topic, or a mapping from source topic name to its DLQ topic
    when the agent reads several topics."""

    def __init__(
        self,
        specs: TopicSpec | Sequence[TopicSpec],
        names: TopicNames,
        serde: AvroSerde,
        dead_letters: Any,
        consumer: str,
    ) -> None:
        self._targets = {
            contract(spec, names).topic: contract(spec, names)
            for spec in ([specs] if isinstance(specs, TopicSpec) else specs)
        }
        self._serde, self._dead_letters, self._consumer = serde, dead_letters, consumer
        self._processed = {
            topic: metrics.EVENTS_PROCESSED.labels(topic, consumer) for topic in self._targets
        }

    async def decode(self, event: Any) -> Decoded | None:
        """The decoded event, or None when it went to the DLQ."""
        message = event.message
        raw_key = event.key.encode() if isinstance(event.key, str) else event.key
        target = self._targets[message.topic]
        key: str | None = None
        value: Record = {}
        try:
            key = decode_key(message.topic, raw_key)
            value = _decode(self._serde, target, event.value)
            check_key(target, key, value)
        except (SerdeError, ValueRuleError) as error:
            refused = self._item(event, None, {}, raw_key)
            await dead_letter(self.dead_letters_of(message.topic), refused, error, self._consumer)
            return None
        self._processed[message.topic].inc()
        return self._item(event, key, value, raw_key)

    @staticmethod
    def _item(event: Any, key: str | None, value: Record, raw_key: bytes | None) -> Decoded:
        message = event.message
        return Decoded(
            key,
            value,
            message.topic,
            message.partition,
            message.offset,
            event.value,
            _headers(event.headers),
            raw_key,
        )

    def dead_letters_of(self, topic: str) -> Any:
        dead = self._dead_letters
        return dead[topic] if isinstance(dead, Mapping) else dead


async def decoded(
    stream: Any,
    specs: TopicSpec | Sequence[TopicSpec],
    names: TopicNames,
    serde: AvroSerde,
    dead_letters: Any,
    consumer: str,
) -> AsyncIterator[Decoded]:
    """The records of ``stream`` (one or several catalogue topics) decoded and checked —
    value rules, and the key rule (:mod:`schemas.recordkey`); the rest dead-lettered.
    ``dead_letters`` is a DLQ topic, or a mapping from source topic name to its DLQ topic
    when the stream reads several topics."""
    decoder = EventDecoder(specs, names, serde, dead_letters, consumer)
    async for event in stream.events():
        item = await decoder.decode(event)
        if item is not None:
            yield item


async def ready_batches(stream: Any, most: int) -> AsyncIterator[list[Any]]:
    """The stream's events in batches of what is already waiting: an event is handed over
    at once when nothing follows it in the agent's queue, and a backlog comes in batches
    of up to ``most`` events. No timer: a lone event waits for nothing, and a batch costs
    one look at the queue per event.

    Faust's own ``take(max, within)`` waits on a timer for every batch (two tasks each,
    ``Service.wait_first``) and fills its buffer through a processor in a second task; on
    this path that machinery cost more than the agent's own work. Acknowledgement is the
    same as ``take``'s: the stream's automatic acks are off, and a batch's events are
    acknowledged only when the caller asks for the next batch, i.e. after it applied them
    (its effects were sent, and Faust flushes its producer before it commits), so a crash
    redelivers the batch and never skips it.

    A batch is never held across a rebalance. Between seeing the next event in the queue
    and taking it, Faust's stream iterator yields to the loop once (``sleep(0)``); a
    rebalance starting there suspends the flow and clears the queues, and the iterator
    then waits for an event that cannot come until the rebalance ends -- while the
    rebalance waits for the held batch's acknowledgements (``wait_empty``). Both waited
    for good: a survivor of a SIGKILLed worker sat with 7 account updates held and its
    group rebalancing for minutes (a CI run of the scale-out test;
    ``tests/streams/test_ready_batches.py`` replays the interleaving). So when Faust
    clears the queues while a batch is held, a wake-up value is put in the agent's queue
    (``get`` does not wait for the flow, only ``put`` does): the iterator yields it, and
    the batch is handed over and acknowledged as the rebalance expects.
    """
    queue = stream.channel.queue
    stream.enable_acks = False
    waker = _Waker(queue)
    stream.app.flow_control.manage_queue(waker)
    batch: list[Any] = []
    async for _value in stream:
        event = stream.current_event
        if event is not None:
            batch.append(event)
            if len(batch) < most and not queue.empty():
                waker.holding = True
                continue
        waker.holding = False
        if not batch:
            continue  # a wake-up with nothing held
        yield batch
        for done in batch:
            await stream.ack(done)
        batch = []


class _Wake:
    """What :class:`_Waker` puts in an agent's queue: a value that is not an event."""


class _Waker:
    """Stands among the app's flow-controlled queues (``flow_control.manage_queue``) to be
    told when Faust clears them; then, if its agent holds a batch, wakes it."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self.holding = False

    def clear(self) -> None:
        if self.holding:
            # After every queue is cleared (this one may be cleared after this call).
            asyncio.get_running_loop().call_soon(self._queue.force_put_nowait, _Wake())


def _decode(serde: AvroSerde, target: Contract, raw: bytes | None) -> Record:
    value = serde.decode(target, raw)
    check_rules(target.schema_name, value)  # a typed ValueRuleError names the field
    return value


async def dead_letter(dead_letters: Any, item: Decoded, error: Exception, consumer: str) -> None:
    """Send ``item``'s original record to the DLQ with why it was refused; for decoding
    failures here, and for agents refusing a well-formed event (a stale command, …)."""
    letter = dlq.DeadLetter(
        source_topic=item.topic,
        source_partition=item.partition,
        source_offset=item.offset,
        error_type=type(error).__name__,
        error_message=str(error),
        consumer=consumer,
    )
    key = item.raw_key if item.raw_key is not None else _encoded(item.key)
    await dead_letters.send(key=key, value=item.raw, headers=dlq.headers_for(letter, item.headers))
    metrics.DLQ_RECORDS.labels(item.topic, letter.error_type).inc()


def _encoded(key: str | None) -> bytes | None:
    return None if key is None else key.encode()


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    pairs = raw.items() if isinstance(raw, dict) else (raw or [])
    return [(str(k), v.encode() if isinstance(v, str) else v) for k, v in pairs]
