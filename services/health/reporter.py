"""Readiness of a service that runs its own loop outside Faust (executor, exchange).

The loop calls the reporter every turn: it ticks the probe (alive), and once a second asks
the service where it stands, checks that against the broker (without waiting for it) and
records the verdict and the consumer lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.health.offsets import EndOffsets, Partition, compare
from services.health.probe import Probe
from streams import metrics

REPORT_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    """What a service reads and how far: taken in its own loop thread."""

    consumer: str
    """The lag metric's ``consumer`` label."""
    positions: dict[Partition, int]
    """Next offset to read of every partition the service holds."""
    must_reach: tuple[Partition, ...] = ()
    """The control partitions it must have read to their end to be ready."""
    waiting: tuple[str, ...] = field(default=())
    """Anything else that keeps it from being ready, said for an operator."""
    asked: tuple[Partition, ...] = ()
    """Partitions whose ends are asked only to know that the broker answers."""


class LoopReporter:
    def __init__(
        self,
        probe: Probe,
        ends: EndOffsets,
        snapshot: Callable[[], Snapshot],
        *,
        every_seconds: float = REPORT_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe, self._ends, self._snapshot = probe, ends, snapshot
        self._every = every_seconds
        self._clock = clock
        self._last = float("-inf")

    def __call__(self) -> None:
        self._probe.tick()
        now = self._clock()
        if now - self._last < self._every:
            return
        self._last = now
        snap = self._snapshot()
        connected = self._ends.check({*snap.positions, *snap.must_reach, *snap.asked})
        reading = compare(self._ends.ends, snap.positions, snap.must_reach)
        for topic, lag in reading.lag.items():
            metrics.CONSUMER_LAG.labels(snap.consumer, topic).set(lag)
        reasons = list(snap.waiting)
        if not connected.ok:
            reasons.append(connected.detail)
        if reading.behind:
            shown = ", ".join(f"{t}:{p}" for t, p in reading.behind[:5])
            reasons.append(f"not caught up on {shown}")
        self._probe.set_ready(not reasons, "; ".join(reasons) or "caught up and connected")
