"""Waiting for a part to show it is ready: its own heartbeat on Kafka, or a line in its log.

A heartbeat counts only from the part's own process: the worker names its instance
``<hostname>-<pid>`` (``streams.heartbeat.instance_name``), so another worker beating on
the same topics (an operator's ``hfos worker``, an earlier run) is never taken for ours.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from confluent_kafka import Consumer

from schemas.catalogue import SYSTEM_HEARTBEAT, TopicNames
from schemas.contracts import contract
from schemas.enums import ServiceStatus
from schemas.serde import AvroSerde, SerdeError
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG
from services.localstack.process import tail
from services.up.children import Child
from services.up.exceptions import PartNotReadyError
from services.up.plan import READY_TIMEOUT_SECONDS, Heartbeat, LogLine, Readiness
from services.up.watch import positions_since


class HeartbeatWatch:
    """``system.heartbeat`` from ``since_ms`` on: which (service, instance) beat HEALTHY."""

    def __init__(
        self, kafka: Mapping[str, str], serde: AvroSerde, names: TopicNames, since_ms: int
    ) -> None:
        self._serde = serde
        self._contract = contract(SYSTEM_HEARTBEAT, names)
        self._consumer = Consumer(
            {
                **kafka,
                "group.id": f"hfos-up-ready-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "logger": LIBRDKAFKA_LOG,
            }
        )
        self._consumer.assign(positions_since(self._consumer, [self._contract.topic], since_ms))
        self.healthy: set[tuple[str, str]] = set()

    def poll(self, timeout: float) -> None:
        for message in take(self._consumer, 100, timeout):
            if message.error() is not None:
                continue  # librdkafka retries on its own; the part's deadline bounds the wait
            try:
                beat = self._serde.decode(self._contract, message.value())
            except SerdeError:
                continue  # not a heartbeat we can read: not a sign of readiness either
            if beat["status"] == ServiceStatus.HEALTHY:
                self.healthy.add((str(beat["service"]), str(beat["instance"])))

    def close(self) -> None:
        self._consumer.close()


def is_ready(child: Child, ready: Readiness, beats: HeartbeatWatch) -> bool:
    if isinstance(ready, Heartbeat):
        beats.poll(0.2)
        return (ready.service, f"{socket.gethostname()}-{child.pid}") in beats.healthy
    if isinstance(ready, LogLine):
        time.sleep(0.2)
        return ready.text in child.log.read_text(errors="replace")
    return True


def wait_ready(
    child: Child,
    running: Sequence[Child],
    beats: HeartbeatWatch,
    stopping: Callable[[], bool],
    timeout: float = READY_TIMEOUT_SECONDS,
) -> bool:
    """Wait until ``child`` is ready (True) or a stop is requested (False). Raises when
    any of ``running`` exits meanwhile, or ``child`` is not ready within ``timeout``."""
    deadline = child.spawned_at + timeout
    while not stopping():
        for other in running:
            other.check_alive()
        if is_ready(child, child.part.ready, beats):
            return True
        if time.monotonic() > deadline:
            raise PartNotReadyError(
                child.name,
                child.pid,
                timeout,
                str(child.part.ready),
                child.log,
                tail(child.log, 20),
            )
    return False
