"""A model consumer's registration: its ``system.heartbeat``, naming the models it serves.

Why heartbeats and not a registration topic of its own: a registration must end when its
consumer dies, and a dead consumer says nothing. A record on a compacted registration
topic would outlive a SIGKILLed pod (and every pod name Kubernetes ever gave) and hold
every later promotion hostage; a heartbeat simply stops. So the coordinator counts a
consumer for a promotion when its beats named the model around the promotion's time
(``streams.models.coordinator.REGISTRATION_TTL_MS``), and a clean stop ends it at once
with a last STOPPING beat naming nothing. The beats are sent from the service's own loop,
so a consumer whose loop is wedged stops being registered as well.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence

from schemas.catalogue import SYSTEM_HEARTBEAT, TopicNames
from schemas.contracts import contract
from schemas.enums import ServiceStatus
from schemas.envelope import envelope
from services.bus.producer import EventProducer

INTERVAL_SECONDS = 1.0
"""As the stream worker's own heartbeat (streams/heartbeat.py)."""


def default_instance() -> str:
    """``<hostname>-<pid>``: a restarted process is a new consumer (a pod's name is its
    hostname under Kubernetes)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Registration:
    def __init__(
        self,
        producer: EventProducer,
        names: TopicNames,
        service: str,
        instance: str,
        models: Callable[[], Sequence[str]],
    ) -> None:
        self._producer, self._service, self._instance = producer, service, instance
        self._contract = contract(SYSTEM_HEARTBEAT, names)
        self._models = models
        self._started_at = int(time.time() * 1000)
        self._sequence = 0
        self._next = 0.0

    def tick(self, status: ServiceStatus = ServiceStatus.HEALTHY) -> None:
        """Beat when a beat is due (call it every turn of the loop)."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + INTERVAL_SECONDS
        self._send(status, list(self._models()))

    def stop(self) -> None:
        """The last beat: STOPPING, serving nothing (the registration ends now)."""
        self._send(ServiceStatus.STOPPING, [])
        self._producer.flush(5)

    def _send(self, status: ServiceStatus, models: list[str]) -> None:
        self._sequence += 1
        record = {
            "envelope": envelope(self._service, int(time.time() * 1000)),
            "service": self._service,
            "instance": self._instance,
            "status": status.value,
            "sequence": self._sequence,
            "started_at": self._started_at,
            "models": models,
        }
        self._producer.send(self._contract, f"{self._service}/{self._instance}", record)
