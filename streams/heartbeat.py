"""The stream worker's heartbeat: one ``system.heartbeat`` a second while it is healthy.

The executor's dead-man's switch (SPEC §5) refuses new risk when it has not seen one within
its bound: a worker that is stopped, partitioned away from Kafka or wedged stops beating,
and trading stops taking risk with it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import faust

from schemas.catalogue import SYSTEM_HEARTBEAT, TopicNames
from schemas.enums import ServiceStatus
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from streams import timers
from streams.bus import sink_topic

SERVICE = "hfos-streams"
INTERVAL_SECONDS = 1.0


def instance_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Heartbeat:
    def __init__(
        self,
        app: faust.App,
        names: TopicNames,
        serde: AvroSerde,
        healthy: Callable[[], bool],
        instance: str | None = None,
    ) -> None:
        self._app = app
        self._healthy = healthy
        self._topic = sink_topic(app, SYSTEM_HEARTBEAT, names, serde)
        self._instance = instance or instance_name()
        self._started_at = int(time.time() * 1000)
        self._sequence = 0
        self.healthy_acknowledged_at: float | None = None
        """When (``time.monotonic()``) the broker last acknowledged a HEALTHY beat: the
        worker's readiness (services/health/worker.py)."""
        timers.register(app, INTERVAL_SECONDS, "heartbeat", self._beat)

    def record(self, status: ServiceStatus, now: int) -> dict[str, Any]:
        self._sequence += 1
        return {
            "envelope": envelope(SERVICE, now),
            "service": SERVICE,
            "instance": self._instance,
            "status": status.value,
            "sequence": self._sequence,
            "started_at": self._started_at,
            "models": [],
        }

    async def _beat(self) -> None:
        # A worker that is rebalancing or replaying its tables is alive but cannot judge
        # anything yet: it does not vouch for the control state.
        if self._app.rebalancing or self._app.in_recovery:
            return
        status = ServiceStatus.HEALTHY if self._healthy() else ServiceStatus.DEGRADED
        record = self.record(status, int(time.time() * 1000))
        sent = await self._topic.send(key=f"{SERVICE}/{self._instance}".encode(), value=record)
        if status is ServiceStatus.HEALTHY:
            sent.add_done_callback(self._acknowledged)

    def _acknowledged(self, sent: Any) -> None:
        if not sent.cancelled() and sent.exception() is None:
            self.healthy_acknowledged_at = time.monotonic()
