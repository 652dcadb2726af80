"""Breaker latency and throughput, on the real stack with a real stream worker.

1. Floor: the raw produce -> consume round trip of the same broker, one small record at
   a time, measured in this run.
2. Latency: for each of ``--breaches`` fresh accounts, a breaching ``balance.updated`` is
   produced and the clock runs until its ``risk.circuit_breaker.triggered`` is consumable
   (read by a consumer already positioned at the end), one breach at a time.
3. Throughput: ``--events`` non-breaching balance updates over 100 accounts; the agent's
   rate is events / time until the worker's committed offsets reach the end (commits run
   every 0.5 s, so this slightly understates it), beside a plain confluent-kafka
   consume+decode loop over the same records in the same run.

    python -m bench.breaker [--breaches 1000] [--events 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, latency_summary, servers
from schemas.catalogue import (
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
    SYSTEM_HEARTBEAT,
    TopicNames,
)
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.venue import VenueBook, wall_clock
from services.testing.workers import running_worker


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


def _floor(found: Servers, names: TopicNames, rounds: int) -> list[float]:
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
    return times


VENUE = VenueBook(clock=wall_clock(), producer="bench")


def _balance(account: str, wallet: float) -> dict[str, Any]:
    """The venue's next account.updated of ``account``, its wallet at ``wallet``."""
    [(_, _, snapshot), *_] = VENUE.balance(account, wallet)
    return snapshot


def _latency(
    found: Servers, names: TopicNames, producer: EventProducer, serde: AvroSerde, breaches: int
) -> list[float]:
    balances = contract(ACCOUNT_UPDATED, names)
    triggers = contract(CIRCUIT_BREAKER_TRIGGERED, names)
    accounts = [f"lat-{i}" for i in range(breaches)]
    for account in accounts:
        producer.send(balances, account, _balance(account, 10_000.0))
    producer.flush(60)
    time.sleep(2.0)  # every account has its peak before the clock starts
    consumer = _at_end(found.kafka, triggers.topic, CIRCUIT_BREAKER_TRIGGERED.partitions)
    latencies = []
    for account in accounts:
        record = _balance(account, 8_000.0)
        started = time.perf_counter()
        producer.send(balances, account, record)
        producer.poll(0)
        while True:
            message = consumer.poll(0.005)
            if message is None or message.error() is not None:
                continue
            trigger = serde.decode(triggers, message.value())
            if trigger["tipping_event_id"] == record["envelope"]["event_id"]:
                break
        latencies.append((time.perf_counter() - started) * 1000)
    consumer.close()
    return latencies


def _committed(found: Servers, group: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": found.kafka, "group.id": group})
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def _throughput(
    found: Servers,
    names: TopicNames,
    producer: EventProducer,
    serde: AvroSerde,
    app_id: str,
    events: int,
) -> tuple[float, float]:
    balances = contract(ACCOUNT_UPDATED, names)
    before = _committed(found, app_id, balances.topic, ACCOUNT_UPDATED.partitions)
    started = time.perf_counter()
    for i in range(events):
        producer.send(balances, f"thr-{i % 100}", _balance(f"thr-{i % 100}", 10_000.0 + i % 7))
    producer.flush(120)
    target = before + events
    while _committed(found, app_id, balances.topic, ACCOUNT_UPDATED.partitions) < target:
        time.sleep(0.05)
    agent = events / (time.perf_counter() - started)
    consumer = Consumer(
        {
            "bootstrap.servers": found.kafka,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([balances.topic])
    seen, started = 0, time.perf_counter()
    while seen < target:
        for message in consumer.consume(10_000, 1.0):
            if message.error() is None:
                serde.decode(balances, message.value())
                seen += 1
    plain = seen / (time.perf_counter() - started)
    consumer.close()
    return agent, plain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--breaches", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    found = servers()
    names = TopicNames(f"bbrk{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": found.kafka}), names.specs())
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    producer = EventProducer(
        {"bootstrap.servers": found.kafka}, serde, extra_config={"linger.ms": 0}
    )
    env = {**found.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    app_id = f"{names.prefix}streams"
    with running_worker(env, app_id, Path(tempfile.mkdtemp()) / "worker.log"):
        view = PolicyView({"bootstrap.servers": found.kafka}, names, serde)
        while view.state().active() is None:
            time.sleep(0.1)
        view.close()
        floor = _floor(found, names, 1000)
        latencies = _latency(found, names, producer, serde, args.breaches)
        agent, plain = _throughput(found, names, producer, serde, app_id, args.events)

    emit(
        {
            "benchmark": "breaker",
            "breaches": len(latencies),
            "breach_to_trigger_ms": latency_summary(latencies),
            "target_p99_ms": 100,
            "raw_round_trip_ms": latency_summary(floor),
            "agent_events_per_second": round(agent),
            "plain_consume_decode_events_per_second": round(plain),
            "events": args.events,
        }
    )


if __name__ == "__main__":
    main()
