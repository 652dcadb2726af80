"""Breaker latency, throughput, scale-out and memory, on the real stack with real workers.

``--mode throughput`` (the default):

1. Floor: the raw produce -> consume round trip of the same broker, one small record at
   a time, measured in this run.
2. Latency: for each of ``--breaches`` fresh accounts, a breaching ``account.updated`` is
   produced and the clock runs until its ``risk.circuit_breaker.triggered`` is consumable
   (read by a consumer already positioned at the end), one breach at a time.
3. Throughput: a backlog of ``--events`` non-breaching account updates over 200 accounts
   (produced while the worker is paused); the agent's rate is events / time until the
   worker's committed offsets reach the end (commits run every 0.5 s, so this slightly
   understates it), beside a plain confluent-kafka consume+decode loop over the same
   records in the same run (clock from its first record), and their ratio.
4. CPU: the agent's and the plain loop's CPU per event and their ratio; the same ratio
   from short backlogs (3 000 events, best of 3) is the figure the test command's
   regression guard (tests/bench) compares with ``bench/recorded.json``.

``--mode workers``: the same stream through 1, 2 and 3 workers of one app (12 partitions),
each count on fresh topics: events/s, and CPU seconds of all workers per event (from
``/proc``), so the curve can be reasoned about on a machine with more cores than this one.

``--mode memory``: one update each for ``--accounts`` accounts (one open position each):
the worker's resident memory before and after, and the bytes per account.

    python -m bench.breaker [--mode throughput|workers|memory] [--breaches 1000]
                            [--events 20000] [--accounts 100000]
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupState,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, latency_summary, servers
from schemas.catalogue import (
    ACCOUNT_PARTITIONS,
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
    SYSTEM_HEARTBEAT,
    TopicNames,
)
from schemas.contracts import contract
from schemas.keys import streams_app_id
from schemas.serde import AvroSerde
from services.bus.cleanup import delete_topics, topics_under_prefix
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.storm import WorkerFleet, lag
from services.testing.venue import VenueBook, wall_clock

VENUE = VenueBook(clock=wall_clock(), producer="bench")
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Deployment:
    """Fresh topics, the clients, and the workers of one measurement."""

    found: Servers
    names: TopicNames
    serde: AvroSerde
    producer: EventProducer
    fleet: WorkerFleet

    @property
    def accounts(self) -> Any:
        return contract(ACCOUNT_UPDATED, self.names)

    def settle(self, workers: int) -> None:
        """Every worker joined, recovered and through a first batch before a clock starts
        (a rebalance inside a measurement made 2 workers look 8 times slower than 1)."""
        kafka = {"bootstrap.servers": self.found.kafka}
        admin = AdminClient({"bootstrap.servers": self.found.kafka})
        deadline = time.monotonic() + 120
        while True:
            [group] = admin.describe_consumer_groups([self.fleet.app_id]).values()
            described = group.result(30)
            members = [m for m in described.members if m.assignment.topic_partitions]
            if described.state == ConsumerGroupState.STABLE and len(members) == workers:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} workers did not form a stable group in 120 s")
            time.sleep(0.2)
        for i in range(240):
            account = f"warm-{i}"
            self.producer.send(self.accounts, account, _balance(account, 10_000.0))
        self.producer.flush(60)
        deadline = time.monotonic() + 120
        while lag(kafka, self.fleet.app_id, self.accounts.topic, ACCOUNT_PARTITIONS) > 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not consume the warm-up records in 120 s")
            time.sleep(0.1)

    def wait_policy(self) -> None:
        view = PolicyView({"bootstrap.servers": self.found.kafka}, self.names, self.serde)
        try:
            while view.state().active() is None:
                time.sleep(0.1)
        finally:
            view.close()


@contextmanager
def deployment(found: Servers, workers: int) -> Iterator[Deployment]:
    names = TopicNames(f"bbrk{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": found.kafka}), names.specs())
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    producer = EventProducer(
        {"bootstrap.servers": found.kafka}, serde, extra_config={"linger.ms": 0}
    )
    env = {**found.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    log = Path(tempfile.mkdtemp()) / "workers.log"
    fleet = WorkerFleet(env, streams_app_id(names.prefix), log)
    try:
        for index in range(workers):
            fleet.start(f"bench-{index}")
        built = Deployment(found, names, serde, producer, fleet)
        built.wait_policy()
        built.settle(workers)
        yield built
    finally:
        fleet.stop_all()
        admin = AdminClient({"bootstrap.servers": found.kafka})
        delete_topics(admin, topics_under_prefix(admin, names.prefix))  # changelogs too


def _balance(account: str, wallet: float) -> dict[str, Any]:
    """The venue's next account.updated of ``account``, its wallet at ``wallet``."""
    [(_, _, snapshot), *_] = VENUE.balance(account, wallet)
    return snapshot


def _position(account: str, pnl: float) -> dict[str, Any]:
    [(_, _, snapshot), *_] = VENUE.position(account, "BTCUSDT", pnl)
    return snapshot


def _at_end(bootstrap: str, topic: str, partitions: int) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 1,
        }
    )
    ends = []
    for p in range(partitions):
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        ends.append(TopicPartition(topic, p, high))
    consumer.assign(ends)
    return consumer


def floor(found: Servers, names: TopicNames, rounds: int) -> list[float]:
    topic = names.name(SYSTEM_HEARTBEAT)
    producer = Producer(
        {
            "bootstrap.servers": found.kafka,
            "linger.ms": 0,
            "acks": "all",
            "enable.idempotence": True,
        }
    )
    consumer = _at_end(found.kafka, topic, SYSTEM_HEARTBEAT.partitions)
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        producer.produce(topic, f"{i}".encode())
        producer.poll(0)
        while True:
            message = consumer.poll(0.01)
            if message is not None and message.error() is None:
                break
        times.append((time.perf_counter() - started) * 1000)
    consumer.close()
    producer.flush(10)
    return times


def latency(built: Deployment, breaches: int) -> list[float]:
    accounts = built.accounts
    triggers = contract(CIRCUIT_BREAKER_TRIGGERED, built.names)
    names = [f"lat-{i}" for i in range(breaches)]
    for account in names:
        built.producer.send(accounts, account, _balance(account, 10_000.0))
    built.producer.flush(60)
    time.sleep(2.0)  # every account has its peak before the clock starts
    consumer = _at_end(built.found.kafka, triggers.topic, CIRCUIT_BREAKER_TRIGGERED.partitions)
    latencies = []
    for account in names:
        record = _balance(account, 8_000.0)
        started = time.perf_counter()
        built.producer.send(accounts, account, record)
        built.producer.poll(0)
        while True:
            message = consumer.poll(0.005)
            if message is None or message.error() is not None:
                continue
            trigger = built.serde.decode(triggers, message.value())
            if trigger["tipping_event_id"] == record["envelope"]["event_id"]:
                break
        latencies.append((time.perf_counter() - started) * 1000)
    consumer.close()
    return latencies


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with Path(f"/proc/{pid}/stat").open() as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def _rss_bytes(pid: int) -> int:
    with Path(f"/proc/{pid}/statm").open() as statm:
        return int(statm.read().split()[1]) * _PAGE


def agent_rate(built: Deployment, events: int) -> tuple[float, float]:
    """Events/s through the worker(s) draining a backlog, and their CPU seconds per event.

    The workers are paused (SIGSTOP, well inside the group's session timeout) while the
    backlog is produced, so the clock measures the agents and not the producer.
    """
    accounts = built.accounts
    group = built.fleet.app_id
    pids = [s.process.pid for s in built.fleet.spawned if s.process.poll() is None]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        for i in range(events):
            account = f"thr-{i % 200}"
            built.producer.send(accounts, account, _balance(account, 10_000.0 + i % 7))
        built.producer.flush(120)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    cpu_before = _cpu_seconds(pids)
    started = time.perf_counter()
    while lag({"bootstrap.servers": built.found.kafka}, group, accounts.topic, 12) > 0:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    return events / elapsed, (_cpu_seconds(pids) - cpu_before) / events


def plain_rate(built: Deployment) -> tuple[float, float]:
    """A confluent-kafka consume + Avro decode loop over the same records: events/s, and
    this process's CPU seconds per event (librdkafka's threads included).

    The partitions are assigned (no group join to wait for) and the clock starts at the
    first record, so the rate is the loop's own.
    """
    accounts = built.accounts
    consumer = Consumer(
        {
            "bootstrap.servers": built.found.kafka,
            "group.id": uuid.uuid4().hex,
            "enable.auto.commit": False,
        }
    )
    parts = [TopicPartition(accounts.topic, p, OFFSET_BEGINNING) for p in range(ACCOUNT_PARTITIONS)]
    ends = sum(consumer.get_watermark_offsets(tp, 30)[1] for tp in parts)
    cpu_before = time.process_time()
    consumer.assign(parts)
    seen, started = 0, 0.0
    while seen < ends:
        for message in consumer.consume(10_000, 1.0):
            if message.error() is None:
                if not seen:
                    started = time.perf_counter()
                built.serde.decode(accounts, message.value())
                seen += 1
    rate = (seen - 1) / (time.perf_counter() - started)
    cpu = (time.process_time() - cpu_before) / seen
    consumer.close()
    return rate, cpu


def throughput_mode(found: Servers, breaches: int, events: int) -> dict[str, Any]:
    with deployment(found, workers=1) as built:
        floor_ms = floor(found, built.names, 1000)
        latencies = latency(built, breaches)
        agent, cpu = agent_rate(built, events)
        plain, plain_cpu = plain_rate(built)
    guard = quick_ratio(found)
    return {
        "benchmark": "breaker",
        "mode": "throughput",
        "breaches": len(latencies),
        "breach_to_trigger_ms": latency_summary(latencies),
        "target_p99_ms": 100,
        "raw_round_trip_ms": latency_summary(floor_ms),
        "agent_events_per_second": round(agent),
        "agent_cpu_ms_per_event": round(cpu * 1000, 3),
        "plain_consume_decode_events_per_second": round(plain),
        "agent_to_plain_ratio": round(agent / plain, 3),
        "target_ratio": 0.5,
        "plain_cpu_ms_per_event": round(plain_cpu * 1000, 3),
        "cpu_ratio": round(plain_cpu / cpu, 3),
        "events": events,
        "guard_ratio": round(guard, 3),
        "guard_events": GUARD_EVENTS,
    }


GUARD_EVENTS = 3000
GUARD_RUNS = 3
RECORDED = Path(__file__).with_name("recorded.json")
"""The figures the test command's regression guard compares against (written by hand from
a throughput run recorded in docs/BENCHMARKS.md)."""


def quick_ratio(found: Servers, events: int = GUARD_EVENTS, runs: int = GUARD_RUNS) -> float:
    """The test command's regression guard: plain CPU per event over the agent's CPU per
    event, on short backlogs, the best of ``runs``.

    CPU and not wall time: on this shared 2-core machine the wall-clock ratio of one 20 000
    event run moved between 0.11 and 0.21 with the load of other jobs, and a short run's
    plain loop is over before librdkafka's prefetch is (its rate came out at 90 000 to
    260 000 events/s). Both sides' CPU per event rise together under contention, so their
    ratio holds; a slower agent (more work per event, batches of one) shows in every run.
    """
    with deployment(found, workers=1) as built:
        ratios = []
        for _ in range(runs):
            _, agent_cpu = agent_rate(built, events)
            _, plain_cpu = plain_rate(built)
            ratios.append(plain_cpu / agent_cpu)
        return max(ratios)


def workers_mode(found: Servers, events: int) -> dict[str, Any]:
    rows = []
    for count in (1, 2, 3):
        with deployment(found, workers=count) as built:
            rate, cpu = agent_rate(built, events)
        rows.append(
            {"workers": count, "events_per_second": round(rate), "cpu_ms_per_event": cpu * 1000}
        )
    return {
        "benchmark": "breaker",
        "mode": "workers",
        "events": events,
        "partitions": ACCOUNT_PARTITIONS,
        "runs": [{**r, "cpu_ms_per_event": round(r["cpu_ms_per_event"], 3)} for r in rows],
    }


def memory_mode(found: Servers, accounts: int) -> dict[str, Any]:
    with deployment(found, workers=1) as built:
        [worker] = built.fleet.spawned
        time.sleep(3.0)
        before = _rss_bytes(worker.process.pid)
        for i in range(accounts):
            account = f"mem-{i:06d}"
            built.producer.send(built.accounts, account, _position(account, -1.0))
            if i % 10_000 == 0:
                built.producer.poll(0)
        built.producer.flush(120)
        group = built.fleet.app_id
        kafka = {"bootstrap.servers": found.kafka}
        while lag(kafka, group, built.accounts.topic, ACCOUNT_PARTITIONS) > 0:
            time.sleep(0.5)
        time.sleep(3.0)
        after = _rss_bytes(worker.process.pid)
    return {
        "benchmark": "breaker",
        "mode": "memory",
        "accounts": accounts,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "bytes_per_account": round((after - before) / accounts),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["throughput", "workers", "memory"], default="throughput")
    parser.add_argument("--breaches", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    args = parser.parse_args()
    found = servers()
    if args.mode == "workers":
        emit(workers_mode(found, args.events))
    elif args.mode == "memory":
        emit(memory_mode(found, args.accounts))
    else:
        emit(throughput_mode(found, args.breaches, args.events))


if __name__ == "__main__":
    main()
