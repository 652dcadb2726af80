"""A restart storm on the real stack: the stream worker killed again and again while a
venue streams account updates, as an outside tester ran it (issue 11).

:class:`WorkerFleet` runs ``hfos worker`` processes (one at a time, or several of one
app) and kills and restarts them; :func:`storm_plan` is the seeded venue history (which
accounts breach, and when); :func:`heartbeats` reads when each process first beat
HEALTHY. The tests in ``tests/streams/test_worker_storm.py`` and ``bench/breaker.py``
drive them.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from schemas.catalogue import SYSTEM_HEARTBEAT, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.testing.kafka import read_topic
from streams.watchdog import EXIT_STALLED


@dataclass
class Spawned:
    process: subprocess.Popen[bytes]
    started_at: float
    """``time.time()`` when spawned."""
    killed_at: float | None = None


@dataclass
class WorkerFleet:
    """``hfos worker`` processes of one app; every exit is recorded."""

    env: Mapping[str, str]
    app_id: str
    log: Path
    spawned: list[Spawned] = field(default_factory=list)

    def start(self, instance: str = "worker-0") -> Spawned:
        """A worker process named ``instance`` (its static membership: a restart under
        the same name takes the dead one's partitions back without a rebalance)."""
        argv = [sys.executable, "-m", "services.cli.main", "worker", "--app-id", self.app_id]
        argv += ["--loglevel", os.environ.get("HFOS_TEST_WORKER_LOGLEVEL", "info")]
        with self.log.open("ab") as sink:
            sink.write(f"\n--- storm: spawning a worker at {time.time():.3f}\n".encode())
            process = subprocess.Popen(
                argv,
                env={**os.environ, **self.env, "HFOS_WORKER_INSTANCE": instance},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        spawned = Spawned(process, time.time())
        self.spawned.append(spawned)
        return spawned

    def kill(self, spawned: Spawned) -> None:
        spawned.killed_at = time.time()
        spawned.process.send_signal(signal.SIGKILL)
        spawned.process.wait(30)

    def stop_all(self) -> None:
        for spawned in self.spawned:
            if spawned.process.poll() is None:
                spawned.process.send_signal(signal.SIGTERM)
        for spawned in self.spawned:
            try:
                spawned.process.wait(60)
            except subprocess.TimeoutExpired:
                spawned.process.kill()
                spawned.process.wait(10)

    def stalled_exits(self) -> int:
        """Processes that ended themselves because the watchdog gave up on a stall."""
        return sum(s.process.poll() == EXIT_STALLED for s in self.spawned)

    def unexpected_exits(self) -> list[int]:
        """Exit codes of processes that died without being killed or stopped (a crash)."""
        codes = [s.process.poll() for s in self.spawned if s.killed_at is None]
        return [code for code in codes if code is not None and code != 0]


@dataclass(frozen=True)
class Plan:
    """Per account, the wallet values the venue reports, in order; ``breaching`` are the
    accounts whose drop exceeds the normal profile's 10 % drawdown (and 5 % daily loss)."""

    updates: list[tuple[str, float]]
    breaching: frozenset[str]


def storm_plan(seed: int, accounts: int, events: int, breaching: int) -> Plan:
    """``events`` updates over ``accounts`` accounts, interleaved at random; every account
    starts at 10 000 and moves within +-2 % (never near a limit), except ``breaching``
    accounts, which fall to 8 500 at a random point and stay below 8 800."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible test history, not a secret
    names = [f"st-{i:03d}" for i in range(accounts)]
    falling = set(rng.sample(names, breaching))
    per_account = events // accounts
    sequences: dict[str, list[float]] = {}
    for name in names:
        values = [10_000.0] + [
            10_000.0 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(1, per_account)
        ]
        if name in falling:
            drop = rng.randrange(per_account // 4, per_account - 1)
            values[drop:] = [rng.uniform(8_500.0, 8_800.0) for _ in values[drop:]]
        sequences[name] = values
    order = [name for name in names for _ in range(per_account)]
    rng.shuffle(order)
    cursors = dict.fromkeys(names, 0)
    updates = []
    for name in order:
        updates.append((name, sequences[name][cursors[name]]))
        cursors[name] += 1
    # Each account's first update must be its first in the stream: peaks start at 10 000.
    return Plan(updates, frozenset(falling))


def heartbeats(kafka: Mapping[str, str], names: TopicNames, serde: AvroSerde) -> dict[int, float]:
    """Worker pid -> when (``time.time()``) it first beat HEALTHY."""
    target = contract(SYSTEM_HEARTBEAT, names)
    first: dict[int, float] = {}
    for record in read_topic(kafka, target.topic, 1, timeout=10, settle=1.0):
        beat = serde.decode(target, record.value)
        if beat["status"] != "HEALTHY":
            continue
        pid = int(str(beat["instance"]).rsplit("-", 1)[-1])
        at = int(beat["envelope"]["event_time"]) / 1000
        first[pid] = min(first.get(pid, at), at)
    return first


def lag(kafka: Mapping[str, str], group: str, topic: str, partitions: int) -> int:
    """Records of ``topic`` the group has not committed yet."""
    consumer = Consumer({**kafka, "group.id": group, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        committed = consumer.committed(parts, timeout=10)
        behind = 0
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), 10)
            behind += high - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()
