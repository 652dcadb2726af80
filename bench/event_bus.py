"""Avro produce+consume throughput against the raw-bytes throughput of the same client.

Both legs move the same number of same-sized records through one local broker in the same
run, the way hfos deploys: a producing process and a consuming process, concurrently.
The raw leg produces pre-encoded bytes through the same ``EventProducer`` (``send_raw``)
and consumes without decoding; the Avro leg encodes every record through the serde
(registry id, Confluent framing, strict validation) and decodes every record on the way
out. Time runs from the first send to the last record consumed. Legs alternate over
several rounds on fresh topics, so load from other processes on a shared machine hits
both alike; the ratio is taken per round and the median reported. A leg is 300 000
records: with 100 000 the raw leg lasts under half a second, and one scheduling hiccup on
a shared two-core box moves that round's ratio by 0.15 or more.

    python -m bench.event_bus [--events 300000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
import uuid
from dataclasses import replace
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, servers
from schemas.catalogue import POSITION_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision

STALL_SECONDS = 30.0


def _consume(
    bootstrap: str, registry: str, prefix: str, count: int, decode: bool, ready: Any, done: Any
) -> None:
    """Child process: read ``count`` records (decoding them or not), report the time; or,
    when nothing arrives for ``STALL_SECONDS``, report how far it got and stop."""
    names = TopicNames(prefix)
    target = contract(POSITION_UPDATED, names)
    serde = AvroSerde(SchemaRegistryClient({"url": registry}))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    assigned: list[Any] = []
    consumer.subscribe([target.topic], on_assign=lambda _, partitions: assigned.extend(partitions))
    deadline = time.monotonic() + STALL_SECONDS
    while not assigned and time.monotonic() < deadline:  # join before the clock starts
        consumer.consume(1, 0.2)
    ready.set()
    seen, last = 0, time.monotonic()
    while seen < count:
        batch = consumer.consume(10_000, 1.0)
        if batch:
            last = time.monotonic()
        elif time.monotonic() - last > STALL_SECONDS:
            done.put(("stalled", _where(consumer, target.topic, seen, assigned)))
            consumer.close()
            return
        for message in batch:
            value = message.value()
            if message.error() is None and value is not None:
                if decode:
                    serde.decode(target, value)
                seen += 1
    done.put(("done", time.time()))
    consumer.close()


def _where(consumer: Consumer, topic: str, seen: int, assigned: list[Any]) -> str:
    ends = {}
    for partition in assigned:
        low, high = consumer.get_watermark_offsets(partition, timeout=5)
        ends[partition.partition] = (low, high)
    positions = {p.partition: p.offset for p in consumer.position(assigned)} if assigned else {}
    return f"{topic}: consumed {seen}; assigned {sorted(ends)}; positions {positions}; ends {ends}"


def _leg(
    found: Any, serde: AvroSerde, events: int, records: list[dict[str, Any]], *, avro: bool
) -> float:
    names = TopicNames(f"bench{uuid.uuid4().hex[:8]}.")
    provision(
        AdminClient({"bootstrap.servers": found.kafka}),
        [replace(POSITION_UPDATED, name=names.name(POSITION_UPDATED))],
    )
    target = contract(POSITION_UPDATED, names)
    encoded = [serde.encode(target, record) for record in records]
    producer = EventProducer(
        {"bootstrap.servers": found.kafka},
        serde,
        buffer_messages=events,
        extra_config={"linger.ms": 5},
    )
    # Spawned, not forked: this process already runs librdkafka threads (the admin client,
    # the producer), and a fork copies whatever lock they held at that instant. Forked, the
    # consumer never got an assignment in 3 of about 120 legs; spawned, it has not yet.
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    done: multiprocessing.Queue[tuple[str, Any]] = spawn.Queue()
    child = spawn.Process(
        target=_consume,
        args=(found.kafka, found.registry, names.prefix, events, avro, ready, done),
        daemon=True,
    )
    child.start()
    ready.wait(STALL_SECONDS + 30)
    started = time.time()
    for i in range(events):
        record = records[i % len(records)]
        if avro:
            producer.send(target, record["account_id"], record)
        else:
            producer.send_raw(target.topic, record["account_id"], encoded[i % len(records)])
    left = producer.flush(120)
    if left:
        raise RuntimeError(f"{target.topic}: {left} records still unacknowledged after 120 s")
    outcome, detail = done.get(timeout=600)
    child.join(30)
    if outcome != "done":
        raise RuntimeError(f"the consumer stalled: {detail}")
    return events / (float(detail) - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    found = servers()
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    template = example_record("hfos.PositionUpdated")
    records = [{**template, "account_id": f"acc-{i % 100}"} for i in range(1000)]
    rounds = []
    for _ in range(args.rounds):
        raw_eps = _leg(found, serde, args.events, records, avro=False)
        avro_eps = _leg(found, serde, args.events, records, avro=True)
        rounds.append(
            {"raw": round(raw_eps), "avro": round(avro_eps), "ratio": round(avro_eps / raw_eps, 3)}
        )
    emit(
        {
            "benchmark": "event_bus",
            "events": args.events,
            "record_bytes": len(serde.encode(contract(POSITION_UPDATED), template)),
            "rounds": rounds,
            "raw_events_per_second": statistics.median(r["raw"] for r in rounds),
            "avro_events_per_second": statistics.median(r["avro"] for r in rounds),
            "ratio": statistics.median(r["ratio"] for r in rounds),
            "target_ratio": 0.5,
        }
    )


if __name__ == "__main__":
    main()
