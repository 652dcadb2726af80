"""A stream worker that holds partitions but reads nothing is the worst failure a control
plane can have: every breaker and ESS decision of those accounts silently stops. The
watchdog compares, every few seconds, each assigned input partition's end offset (asked of
the broker) with the offset the worker has read; a partition with records waiting and no
progress for ``patience`` checks in a row is *stalled*. It is logged with everything the
consumer knows about it and counted in ``hfos_stream_stalled_partitions``; the pure
detector below decides, the binding only measures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import faust

from streams import metrics

log = logging.getLogger(__name__)

K = TypeVar("K")

CHECK_SECONDS = 2.0
PATIENCE = 3
"""Checks in a row without progress before a partition with waiting records is stalled:
with CHECK_SECONDS, 6 s — longer than any healthy pause (a commit, a rebalance)."""


@dataclass
class StallDetector(Generic[K]):
    """Feed it ``{partition: (end offset, next offset to read)}`` once per check."""

    patience: int = PATIENCE
    _last_read: dict[K, int] = field(default_factory=dict)
    _idle_checks: dict[K, int] = field(default_factory=dict)

    def observe(self, offsets: Mapping[K, tuple[int, int]]) -> set[K]:
        stalled: set[K] = set()
        for key, (end, read) in offsets.items():
            waiting = end > read
            progressed = self._last_read.get(key) != read
            self._last_read[key] = read
            idle = 0 if (progressed or not waiting) else self._idle_checks.get(key, 0) + 1
            self._idle_checks[key] = idle
            if idle >= self.patience:
                stalled.add(key)
        for gone in set(self._last_read) - set(offsets):
            del self._last_read[gone]
            self._idle_checks.pop(gone, None)
        return stalled


class Watchdog:
    """The detector on a Faust app's consumer."""

    def __init__(self, app: faust.App, patience: int = PATIENCE) -> None:
        self._app = app
        self._detector: StallDetector[Any] = StallDetector(patience)
        self.stalled = 0
        """Partitions found stalled at the last check."""
        app.timer(CHECK_SECONDS)(self._check)

    async def _check(self) -> None:
        app = self._app
        if app.rebalancing or app.in_recovery:
            return
        consumer = app.consumer
        changelogs = app.tables.changelog_topics
        inputs = [tp for tp in consumer.assignment() if tp.topic not in changelogs]
        if not inputs:
            return
        ends = await consumer.highwaters(*inputs)
        offsets = {}
        for tp in inputs:
            position = await consumer.position(tp)
            offsets[tp] = (int(ends.get(tp, 0)), int(position or 0))
        stalled = self._detector.observe(offsets)
        self.stalled = len(stalled)
        metrics.STREAM_STALLED_PARTITIONS.set(len(stalled))
        for tp in sorted(stalled):
            end, read = offsets[tp]
            log.warning(
                "watchdog: %s:%s stalled: %d record(s) waiting (end %d, position %d); %s",
                tp.topic,
                tp.partition,
                end - read,
                end,
                read,
                self._describe(tp),
            )

    def _describe(self, tp: Any) -> str:
        consumer: Any = self._app.consumer
        driver = consumer._thread._ensure_consumer()
        return (
            f"active={tp in consumer._active_partitions} "
            f"paused={tp in consumer._paused_partitions} "
            f"buffered={tp in consumer._buffered_partitions} "
            f"driver_paused={tp in driver.paused()} "
            f"flow_active={consumer.flow_active} "
            f"read_offset={consumer._read_offset.get(tp)} "
            f"committed={consumer._committed_offset.get(tp)}"
        )
