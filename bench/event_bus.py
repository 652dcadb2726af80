"""Avro produce+consume throughput against the raw-bytes throughput of the same client.

Both legs move the same number of same-sized records through one local broker in the same
run, the way hfos deploys: a producing process and a consuming process, concurrently.
The raw leg produces pre-encoded bytes through the same ``EventProducer`` (``send_raw``)
and consumes without decoding; the Avro leg encodes every record through the serde
(registry id, Confluent framing, strict validation) and decodes every record on the way
out. Time runs from the first send to the last record consumed. Legs alternate over
several rounds on fresh topics, so load from other processes on a shared machine hits
both alike; the ratio is taken per round and the median reported.

    python -m bench.event_bus [--events 100000] [--rounds 3]
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


def _consume(
    bootstrap: str, registry: str, prefix: str, count: int, decode: bool, ready: Any, done: Any
) -> None:
    """Child process: read ``count`` records (decoding them or not), report the time."""
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
    consumer.subscribe([target.topic])
    consumer.consume(1, 1.0)  # join the group before the clock starts
    ready.set()
    seen = 0
    while seen < count:
        for message in consumer.consume(10_000, 1.0):
            value = message.value()
            if message.error() is None and value is not None:
                if decode:
                    serde.decode(target, value)
                seen += 1
    done.put(time.time())
    consumer.close()


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
    ready = multiprocessing.Event()
    done: multiprocessing.Queue[float] = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=_consume, args=(found.kafka, found.registry, names.prefix, events, avro, ready, done)
    )
    child.start()
    ready.wait(60)
    started = time.time()
    for i in range(events):
        record = records[i % len(records)]
        if avro:
            producer.send(target, record["account_id"], record)
        else:
            producer.send_raw(target.topic, record["account_id"], encoded[i % len(records)])
    producer.flush(120)
    finished: float = done.get(timeout=300)
    child.join(30)
    return events / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
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
