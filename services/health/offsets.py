"""Caught up and connected, asked of the broker without blocking the service's loop.

Every check collects the answer of the previous request for end offsets (if it came) and
sends the next: the loop never waits on the broker. A service is *caught up* when it has
read each partition it must follow up to the end the broker reported one check earlier,
and *connected* while the broker answered within ``answer_within_seconds``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from services.bus.producer import LIBRDKAFKA_LOG
from services.health.probe import Verdict

log = logging.getLogger(__name__)

Partition = tuple[str, int]
_LATEST = OffsetSpec.latest()  # type: ignore[no-untyped-call]

ANSWER_WITHIN_SECONDS = 10.0
"""A broker that has not answered an offsets request this long counts as unreachable:
librdkafka retries a request for up to 5 s (our timeout) and reconnects in under 1 s."""


@dataclass(frozen=True)
class Reading:
    """Where a service stands against the ends the broker reported."""

    behind: tuple[Partition, ...]
    lag: dict[str, int] = field(default_factory=dict)
    """Records not yet read, per topic, summed over the partitions the service holds."""


def compare(
    ends: Mapping[Partition, int],
    positions: Mapping[Partition, int],
    must_reach: Collection[Partition],
) -> Reading:
    """Pure: which of ``must_reach`` are behind their end, and the lag of every partition
    with a position. A position below 0 (nothing read yet) counts as 0; a partition
    whose end is 0 is empty and never behind."""
    lag: dict[str, int] = {}
    for partition, position in positions.items():
        end = ends.get(partition)
        if end is not None:
            lag[partition[0]] = lag.get(partition[0], 0) + max(0, end - max(position, 0))
    behind = tuple(sorted(p for p in must_reach if ends.get(p, 0) > max(positions.get(p, 0), 0)))
    return Reading(behind, lag)


class EndOffsets:
    """The broker's end offsets of some partitions, one request in flight at a time."""

    def __init__(
        self,
        client_config: Mapping[str, str],
        *,
        answer_within_seconds: float = ANSWER_WITHIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config: dict[str, Any] = dict(client_config)
        self._admin = AdminClient(self._config, logger=LIBRDKAFKA_LOG)
        self._within = answer_within_seconds
        self._clock = clock
        self._pending: dict[TopicPartition, Future[object]] | None = None
        self._ends: dict[Partition, int] = {}
        self._answered_at: float | None = None
        self._problem = "no answer yet"

    def check(self, partitions: Collection[Partition]) -> Verdict:
        """Collect the last answer, ask again; whether the broker answered lately."""
        self._collect()
        if self._pending is None and partitions:
            wanted = {TopicPartition(t, p): _LATEST for t, p in partitions}
            self._pending = self._admin.list_offsets(wanted, request_timeout=5)
        if self._answered_at is None:
            return Verdict(ok=False, detail=f"broker has not answered ({self._problem})")
        silent = self._clock() - self._answered_at
        if silent > self._within:
            return Verdict(ok=False, detail=f"broker silent for {silent:.0f} s ({self._problem})")
        return Verdict(ok=True, detail="connected")

    @property
    def ends(self) -> Mapping[Partition, int]:
        return self._ends

    def _collect(self) -> None:
        pending = self._pending
        if pending is None or not all(f.done() for f in pending.values()):
            return
        self._pending = None
        try:
            ends = {(tp.topic, tp.partition): f.result().offset for tp, f in pending.items()}  # type: ignore[attr-defined]
        except KafkaException as error:
            self._problem = error.args[0].str()
            # librdkafka's admin client keeps answering "unknown topic" from its cache
            # after the topic is created; a new client asks the broker afresh.
            self._admin = AdminClient(self._config, logger=LIBRDKAFKA_LOG)
            return
        self._ends = ends
        self._answered_at = self._clock()
