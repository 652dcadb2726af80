"""Reading what the session does, for the live line: one assign-only consumer.

The event topics are read from the session's start (``offsets_for_times``), so a run on a
prefix used before counts only its own events; ``ess.state`` (compacted, tiny) is read from
the beginning, because the current ESS state may be older than the session. Reads are
``read_committed``: the executor and the exchange write in transactions, and an aborted
batch never happened.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
    ESS_STATE,
    ORDER_FAILED,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    TRADE_SIGNAL,
    TopicNames,
    TopicSpec,
)
from schemas.contracts import contract
from schemas.serde import AvroSerde, Contract, SerdeError
from services.bus.clients import LONG_LIVED
from services.bus.inspect import offsets_for_times
from services.bus.polling import take
from services.up.tally import Tally

_SESSION_TOPICS = (
    TRADE_SIGNAL,
    ORDER_REQUESTED,
    ORDER_REJECTED,
    ORDER_FAILED,
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
)


class SessionWatch:
    def __init__(
        self, kafka: Mapping[str, str], serde: AvroSerde, names: TopicNames, since_ms: int
    ) -> None:
        self.tally = Tally()
        self._serde = serde
        self._contracts: dict[str, tuple[TopicSpec, Contract]] = {
            names.name(spec): (spec, contract(spec, names))
            for spec in (*_SESSION_TOPICS, ESS_STATE)
        }
        self._consumer = Consumer(
            {
                **kafka,
                "group.id": f"hfos-up-watch-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                **LONG_LIVED,
            }
        )
        ess = names.name(ESS_STATE)
        self._consumer.assign(
            [
                *positions_since(
                    self._consumer, [names.name(s) for s in _SESSION_TOPICS], since_ms
                ),
                *(
                    TopicPartition(ess, p, OFFSET_BEGINNING)
                    for p in partitions(self._consumer, ess)
                ),
            ]
        )

    def drain(self, seconds: float) -> None:
        """Read until nothing more arrives (at most ``seconds``): the parts have stopped,
        so the session's last records are all on the broker."""
        deadline = time.monotonic() + seconds
        while self.poll(0.5) and time.monotonic() < deadline:
            pass

    def poll(self, timeout: float) -> int:
        """Fold what arrives within ``timeout``; how many records were read."""
        messages = take(self._consumer, 1000, timeout)
        for message in messages:
            if message.error() is not None:
                continue  # librdkafka retries on its own; the next line shows the catch-up
            spec, target = self._contracts[str(message.topic())]
            try:
                record = self._serde.decode(target, message.value())
            except SerdeError:
                continue  # dead-lettered by its consumers; not part of the picture here
            self.tally.apply(spec.name, record)
        return len(messages)

    def close(self) -> None:
        self._consumer.close()


def partitions(consumer: Consumer, topic: str) -> list[int]:
    return sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions)


def positions_since(consumer: Consumer, topics: list[str], since_ms: int) -> list[TopicPartition]:
    """Where each partition of ``topics`` reaches ``since_ms``. Where nothing is that new
    yet, the end *now*: every later record is past it (``OFFSET_END`` would be resolved at
    the first fetch, and could skip what came in between)."""
    wanted = [TopicPartition(t, p, since_ms) for t in topics for p in partitions(consumer, t)]
    found = offsets_for_times(consumer, wanted)
    return [tp if tp.offset >= 0 else _end_now(consumer, tp) for tp in found]


def _end_now(consumer: Consumer, tp: TopicPartition) -> TopicPartition:
    _low, high = consumer.get_watermark_offsets(tp, timeout=30)
    return TopicPartition(tp.topic, tp.partition, high)
