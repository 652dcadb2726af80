"""The one way hfos code writes events: idempotent, acknowledged, bounded, observable.

- ``enable.idempotence=true`` and ``acks=all``: retries after a broker outage never
  duplicate or reorder an event of one partition.
- ``message.timeout.ms=0`` (retry without limit): while this process lives an event is
  retried until the broker takes it. Kafka's log is the only buffer; there is no disk spool.
- The buffer is bounded (``queue.buffering.max.messages``). A full buffer blocks the sender
  for ``block_seconds`` while delivery reports are served (back-pressure), then raises
  :class:`ProducerBufferFullError`; an event is never dropped silently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas.partitioner import LIBRDKAFKA_PARTITIONER
from schemas.serde import AvroSerde, Contract
from services.bus.clients import LONG_LIVED
from services.bus.exceptions import DeliveryError, ProducerBufferFullError, UndeliveredOnCloseError
from services.bus.logs import (
    LIBRDKAFKA_LOG as LIBRDKAFKA_LOG,  # noqa: PLC0414 - re-exported from its old home
)
from streams import metrics

Headers = list[tuple[str, str | bytes | None]]
DeliveryCallback = Callable[[KafkaError | None, Message], None]

DEFAULT_BUFFER_MESSAGES = 100_000
# Serving delivery reports every 64 sends keeps the report queue short without paying a
# poll call per event (each costs about as much as a produce call).
_POLL_EVERY = 64


class EventProducer:
    """Encodes records with the serde and produces them; thread-safe like librdkafka."""

    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        *,
        service: str = "hfos",
        buffer_messages: int = DEFAULT_BUFFER_MESSAGES,
        block_seconds: float = 30.0,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        config: dict[str, Any] = {
            **client_config,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": 0,
            "queue.buffering.max.messages": buffer_messages,
            # 5 ms of batching: well under the 100 ms latency budgets, and it lets one
            # request carry a burst instead of one request per event.
            "linger.ms": 5,
            "client.id": service,
            # Java's partitioner, as the stream worker's (schemas/partitioner.py): an
            # account's records of every topic meet on one partition number.
            "partitioner": LIBRDKAFKA_PARTITIONER,
            # librdkafka's own log lines (connection refused while a broker restarts, …)
            # go through Python logging instead of straight to stderr; and the learned
            # brokers are kept through a restart of them all (services/bus/clients.py).
            **LONG_LIVED,
            **(extra_config or {}),
        }
        self._producer = Producer(config)
        self._serde = serde
        self._service = service
        capacity = config["queue.buffering.max.messages"]
        metrics.PRODUCER_QUEUE_CAPACITY.labels(service).set(capacity)
        self._block_seconds = block_seconds
        self._fatal: KafkaError | None = None
        self._lock = threading.Lock()
        self._sent = 0
        self._delivered: dict[str, Any] = {}

    def send(
        self,
        contract: Contract,
        key: str | None,
        record: Mapping[str, Any],
        headers: Headers | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Validate, encode and enqueue one event (asynchronous; see :meth:`flush`)."""
        value = self._serde.encode(contract, record)
        self.send_raw(contract.topic, key, value, headers, on_delivery)

    def send_raw(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Enqueue already-encoded bytes (DLQ records, raw benchmarks)."""
        if self._fatal is not None:
            raise DeliveryError(topic, f"fatal producer error: {self._fatal.str()}")
        callback = self._on_delivery if on_delivery is None else self._chained(on_delivery)
        try:
            self._producer.produce(topic, value, key, headers=headers, on_delivery=callback)
        except BufferError:
            self._wait_for_room(topic, value, key, headers, callback)
        self._sent += 1
        if self._sent % _POLL_EVERY == 0:
            self.poll(0)

    def _wait_for_room(
        self,
        topic: str,
        value: bytes | None,
        key: str | bytes | None,
        headers: Headers | None,
        callback: DeliveryCallback,
    ) -> None:
        """Back-pressure: serve delivery reports (which frees the buffer) until the event
        fits or ``block_seconds`` pass; then refuse it with a typed error."""
        metrics.PRODUCER_BACKPRESSURE.labels(topic).inc()
        deadline = time.monotonic() + self._block_seconds
        while True:
            self._producer.poll(0.05)
            try:
                self._producer.produce(topic, value, key, headers=headers, on_delivery=callback)
            except BufferError:
                if time.monotonic() >= deadline:
                    queued = len(self._producer)
                    raise ProducerBufferFullError(topic, queued, self._block_seconds) from None
            else:
                return

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        topic = str(message.topic())
        if error is None:
            counter = self._delivered.get(topic)
            if counter is None:
                counter = self._delivered[topic] = metrics.PRODUCER_DELIVERED.labels(topic)
            counter.inc()
            return
        metrics.PRODUCER_FAILED.labels(topic).inc()
        if error.fatal():
            with self._lock:
                self._fatal = error

    def _chained(self, user: DeliveryCallback) -> DeliveryCallback:
        def delivered(error: KafkaError | None, message: Message) -> None:
            self._on_delivery(error, message)
            user(error, message)

        return delivered

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery reports; returns how many were served."""
        served = self._producer.poll(timeout)
        metrics.PRODUCER_QUEUE_DEPTH.labels(self._service).set(len(self._producer))
        return int(served)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait until every queued event is acknowledged; returns how many are left."""
        remaining = int(self._producer.flush(timeout))
        metrics.PRODUCER_QUEUE_DEPTH.labels(self._service).set(remaining)
        return remaining

    def pending(self) -> int:
        return len(self._producer)

    def close(self, timeout: float = 30.0) -> None:
        """Flush on shutdown; raises if anything stayed unacknowledged (it is then lost)."""
        remaining = self.flush(timeout)
        if remaining:
            raise UndeliveredOnCloseError(remaining, timeout)
