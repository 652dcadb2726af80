"""A consumer process for the redelivery test: it applies effects and, when asked, dies by
SIGKILL after ``--die-after`` effects, before any offset is committed."""

from __future__ import annotations

import argparse
import os
import signal
import time

import redis
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.ids import derived_id
from schemas.serde import AvroSerde
from services.bus.consumer import ConsumedEvent, EventConsumer
from services.bus.producer import EventProducer
from services.testing.effects import EffectLedger


def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--kafka", "--registry", "--redis", "--prefix", "--group", "--ledger"):
        parser.add_argument(option, required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--die-after", type=int, default=0)
    args = parser.parse_args()

    ledger = EffectLedger(redis.Redis.from_url(args.redis), args.ledger)
    serde = AvroSerde(SchemaRegistryClient({"url": args.registry}))
    producer = EventProducer({"bootstrap.servers": args.kafka}, serde)
    handled = 0

    def handle(event: ConsumedEvent) -> None:
        nonlocal handled
        ledger.apply_once(derived_id("test-effect", str(event.value["envelope"]["event_id"])))
        handled += 1
        if args.die_after and handled >= args.die_after:
            os.kill(os.getpid(), signal.SIGKILL)  # after the effect, before any commit

    # One commit at the very end at most: nothing is committed before the kill.
    consumer = EventConsumer(
        {"bootstrap.servers": args.kafka},
        args.group,
        [contract(TRADE_SIGNAL, TopicNames(args.prefix))],
        serde,
        producer,
        handle,
        commit_every=1_000_000,
        commit_interval_seconds=3600,
        instance_id=args.group,
    )
    deadline = time.monotonic() + 60
    while ledger.applied() < args.expect and time.monotonic() < deadline:
        consumer.poll(0.2)
    consumer.close()


if __name__ == "__main__":
    main()
