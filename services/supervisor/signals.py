"""What the supervisor reads from Kafka about the services: heartbeats and prices.

One assign-only consumer in a daemon thread follows ``system.heartbeat`` (from one
heartbeat bound back, so a starting supervisor knows at once who is alive) and
``market.price`` (from the last record of each partition, so the price feed's age is
known at once). It keeps, per service instance, the newest beat; and the time of the
newest price. Times are the events' own (``event_time``): a beat a producer buffered
through a broker outage and delivered late is old news, not a sign of life.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaException, TopicPartition

from schemas.catalogue import MARKET_PRICE, SYSTEM_HEARTBEAT, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from services.bus.clients import LONG_LIVED
from services.bus.exceptions import MissingTopicError
from services.bus.inspect import offsets_for_times, watermarks
from services.bus.polling import take

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beat:
    """The newest heartbeat of one service instance."""

    service: str
    instance: str
    status: str
    at: int
    started_at: int

    @property
    def incarnation(self) -> str:
        """Which process beat: a platform restart gives a new one (same name, new start)."""
        return f"{self.instance}@{self.started_at}"


class ServiceSignals:
    """Heartbeats and prices as they arrive; thread-safe snapshots."""

    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        names: TopicNames,
        clock: Callable[[], int],
        lookback_ms: int,
    ) -> None:
        self._serde = serde
        self._beats_contract = contract(SYSTEM_HEARTBEAT, names)
        self._prices_contract = contract(MARKET_PRICE, names)
        self._lock = threading.Lock()
        self._beats: dict[tuple[str, str], Beat] = {}
        self._last_price: int | None = None
        self.started_at = clock()
        self._consumer = Consumer(
            {
                **client_config,
                "group.id": f"hfos-supervisor-signals-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 50,
                **LONG_LIVED,
            }
        )
        self._consumer.assign(self._positions(self.started_at - lookback_ms))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor-signals", daemon=True)
        self._thread.start()

    def _positions(self, since_ms: int) -> list[TopicPartition]:
        beats, prices = self._beats_contract.topic, self._prices_contract.topic
        topics = self._consumer.list_topics(timeout=30).topics
        for topic in (beats, prices):
            if topic not in topics:
                raise MissingTopicError(topic)
        wanted = [TopicPartition(beats, p, since_ms) for p in sorted(topics[beats].partitions)]
        # Both wait out a leader that does not serve yet: the supervisor may start a
        # moment after its topics were created (NOT_LEADER ended it so in one suite run).
        found = [
            tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, OFFSET_END)
            for tp in offsets_for_times(self._consumer, wanted, 30)
        ]
        for partition in sorted(topics[prices].partitions):
            low, high = watermarks(self._consumer, TopicPartition(prices, partition), 30)
            found.append(TopicPartition(prices, partition, max(low, high - 1)))
        return found

    def beats(self, service: str) -> list[Beat]:
        with self._lock:
            return [beat for (name, _), beat in self._beats.items() if name == service]

    def last_price_at(self) -> int | None:
        with self._lock:
            return self._last_price

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for message in take(self._consumer, 500, 0.2):
                    if message.error() is None:
                        self._apply(str(message.topic()), message.value())
        except KafkaException:  # the thread must not die silently
            log.exception("supervisor signals: consumer failed")
        finally:
            self._consumer.close()

    def _apply(self, topic: str, value: bytes | None) -> None:
        try:
            if topic == self._beats_contract.topic:
                self._beat(self._serde.decode(self._beats_contract, value))
            else:
                price = self._serde.decode(self._prices_contract, value)
                at = int(price["envelope"]["event_time"])
                with self._lock:
                    self._last_price = max(self._last_price or at, at)
        except (SerdeError, KeyError, ValueError) as problem:
            # Its owner dead-letters it; for the supervisor it is simply no sign of life.
            log.warning("supervisor signals: skipping an unreadable %s record: %s", topic, problem)

    def _beat(self, record: Mapping[str, Any]) -> None:
        beat = Beat(
            service=str(record["service"]),
            instance=str(record["instance"]),
            status=str(record["status"]),
            at=int(record["envelope"]["event_time"]),
            started_at=int(record["started_at"]),
        )
        key = (beat.service, beat.instance)
        with self._lock:
            held = self._beats.get(key)
            if held is None or (held.started_at, held.at) <= (beat.started_at, beat.at):
                self._beats[key] = beat
