"""A stream worker that holds partitions but reads nothing is the worst failure a control
plane can have: every breaker and ESS decision of those accounts silently stops. The
watchdog compares, every few seconds, each assigned input partition's end offset (asked of
the broker) with the offset the worker has read; a partition with records waiting and no
progress for ``patience`` checks in a row is *stalled*. It is logged with everything the
consumer knows about it and counted in ``hfos_stream_stalled_partitions``; the pure
detector below decides, the binding only measures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import faust

from streams import metrics, timers

log = logging.getLogger(__name__)

K = TypeVar("K")

CHECK_SECONDS = 2.0
PATIENCE = 3
"""Checks in a row without progress before a partition with waiting records is stalled:
with CHECK_SECONDS, 6 s — longer than any healthy pause (a commit, a rebalance)."""


@dataclass(frozen=True)
class Progress:
    """One partition at one check: whether records wait for it, and a marker of how far
    it got (any value that changes when it moves)."""

    waiting: bool
    marker: Hashable

    @classmethod
    def of(cls, end: int, fetched: int, committed: int, unacked: int) -> Progress:
        """Records wait when the fetcher is behind the end, or fetched records are not done
        with and not committed. A committed offset behind the end alone is not waiting: a
        transaction's commit marker takes the last offset of a topic and is never a record
        to commit. An unacknowledged message below the committed offset is Faust's
        bookkeeping of a record fetched twice across a rebalance, not work. A fetch position
        behind a committed offset that reached the end is not waiting either: everything up
        to the end is done (seen after restarts: fetched 2273, committed = end = 2294, and
        the worker exited 75 for nothing)."""
        behind = max(fetched, committed) < end
        return cls(behind or (unacked > 0 and committed < fetched), (fetched, committed))


@dataclass
class StallDetector(Generic[K]):
    """Feed it ``{partition: Progress}`` once per check."""

    patience: int = PATIENCE
    _last_read: dict[K, Hashable] = field(default_factory=dict)
    _idle_checks: dict[K, int] = field(default_factory=dict)

    def observe(self, offsets: Mapping[K, Progress]) -> set[K]:
        stalled: set[K] = set()
        for key, progress in offsets.items():
            waiting, read = progress.waiting, progress.marker
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


LAG_CONSUMER = "hfos-streams"
"""The ``consumer`` label of the worker's lag (records after its committed offsets)."""

EXIT_STALLED = 75
"""The worker's exit status when the watchdog gives up on a stall (EX_TEMPFAIL): its
supervisor (Kubernetes, ``hfos up``) starts it again, and a fresh consumer resumes from
the committed offsets — nothing is lost, effects are idempotent."""


class Watchdog:
    """The detector on a Faust app's consumer.

    ``exit_after_seconds``: a stall that lasts this long ends the process with
    :data:`EXIT_STALLED` (0 keeps it running, degraded, for an operator to look at).
    """

    def __init__(
        self, app: faust.App, patience: int = PATIENCE, exit_after_seconds: float = 0.0
    ) -> None:
        self._app = app
        self._detector: StallDetector[Any] = StallDetector(patience)
        self._exit_after = exit_after_seconds
        self._stalled_since: float | None = None
        self._caught_up: dict[tuple[str, int], int] = {}
        self.stalled = 0
        """Partitions found stalled at the last check."""
        timers.register(app, CHECK_SECONDS, "watchdog", self._check)

    async def _check(self) -> None:
        app = self._app
        if app.rebalancing or app.in_recovery:
            return
        consumer = app.consumer
        changelogs = app.tables.changelog_topics
        inputs = [tp for tp in consumer.assignment() if tp.topic not in changelogs]
        if not inputs:
            return
        asked_at = int(time.time() * 1000)
        ends = await consumer.highwaters(*inputs)
        # Progress is the committed offset: it moves only when an agent has finished with
        # a record, so a fetcher that stopped and an agent that hangs both show.
        committed: Any = getattr(consumer, "_committed_offset", {})
        unacked = Counter(m.tp for m in list(getattr(consumer, "_unacked_messages", ())))
        offsets = {}
        for tp in inputs:
            fetched = int(await consumer.position(tp) or 0)
            done = int(committed.get(tp) or 0)
            offsets[tp] = Progress.of(int(ends.get(tp, 0)), fetched, done, unacked[tp])
        self._note_caught_up(offsets, asked_at)
        lag: Counter[str] = Counter()
        for tp in inputs:
            lag[tp.topic] += max(0, int(ends.get(tp, 0)) - int(committed.get(tp) or 0))
        for topic, behind in lag.items():
            metrics.CONSUMER_LAG.labels(LAG_CONSUMER, topic).set(behind)
        stalled = self._detector.observe(offsets)
        newly = bool(stalled) and not self.stalled
        self.stalled = len(stalled)
        metrics.STREAM_STALLED_PARTITIONS.set(len(stalled))
        for tp in sorted(stalled):
            log.warning(
                "watchdog: %s:%s stalled: end %d, fetched/committed %s, unacked %d; %s",
                tp.topic,
                tp.partition,
                int(ends.get(tp, 0)),
                offsets[tp].marker,
                unacked[tp],
                self._describe(tp),
            )
        if newly:
            log.warning("watchdog: tasks at the stall:\n%s", _tasks())
        self._maybe_exit(bool(stalled))

    def caught_up_at(self, topic: str, partition: int) -> int | None:
        """The latest moment (epoch ms) up to which every record of the partition was
        done with: the time the end offsets were asked for at the last check that found
        nothing waiting. None while it never was (just assigned, or always behind)."""
        return self._caught_up.get((topic, partition))

    def _note_caught_up(self, offsets: Mapping[Any, Progress], asked_at: int) -> None:
        assigned = {(tp.topic, tp.partition) for tp in offsets}
        for gone in set(self._caught_up) - assigned:
            del self._caught_up[gone]
        for tp, progress in offsets.items():
            if not progress.waiting:
                self._caught_up[tp.topic, tp.partition] = asked_at

    def _maybe_exit(self, stalled: bool) -> None:
        now = time.monotonic()
        if not stalled:
            self._stalled_since = None
            return
        since = self._stalled_since = self._stalled_since or now
        if self._exit_after and now - since >= self._exit_after:
            log.error(
                "watchdog: stalled for %.0f s; exiting (%d) for the supervisor to restart "
                "the worker from the committed offsets",
                now - since,
                EXIT_STALLED,
            )
            for handler in logging.getLogger().handlers:
                handler.flush()
            os._exit(EXIT_STALLED)  # not sys.exit: a wedged loop may never unwind

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
            f"committed={consumer._committed_offset.get(tp)} "
            f"{_fetcher_view(driver, tp)}"
        )


def _fetcher_view(driver: Any, tp: Any) -> str:
    """What aiokafka's fetcher holds for ``tp``: whether it is fetched at all, and why not
    (records it holds back until they are consumed, a position awaiting reset, a fetch in
    flight) — the part of a stall that Faust's own flags cannot show."""
    try:
        fetcher = driver._fetcher
        held = fetcher._records.get(tp)
        state = driver._subscription.subscription.assignment.state_value(tp)
        node = fetcher._select_read_replica(tp)
        position = state.position if state is not None and state.has_valid_position else None
        pending = getattr(held, "_partition_records", None)
        return (
            f"aiokafka: held={type(held).__name__ if held else None}"
            f"(next={getattr(pending, 'next_fetch_offset', None)}) position={position} "
            f"awaiting_reset={state.awaiting_reset if state else None} "
            f"paused={state.paused if state else None} node={node} "
            f"in_flight={node in fetcher._in_flight} records_held_for={len(fetcher._records)}"
        )
    except Exception as error:  # noqa: BLE001 - diagnostics must never break the watchdog
        return f"aiokafka: not readable ({error!r})"


def _tasks() -> str:
    """Where every asyncio task of the worker waits: what an operator needs to see when
    a partition stalls (logged once per stall)."""
    lines = []
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=6)
        where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames))
        lines.append(f"  {task.get_name()}: {where or 'not started'}")
    return "\n".join(sorted(lines))
