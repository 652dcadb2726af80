"""Inside a Faust agent the bus rules hold: poison pills go to the DLQ, valid events are
processed, and offsets are committed only after the effects are on the broker."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import replace

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas import dlq
from schemas.catalogue import TRADE_SIGNAL, TopicNames, dlq_spec
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.partitioner import partition_of
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.kafka import read_topic

pytestmark = pytest.mark.stack


def _provision(stack: Servers, *names: TopicNames) -> None:
    specs = [
        replace(spec, name=n.prefix + spec.name)
        for n in names
        for spec in (TRADE_SIGNAL, dlq_spec(TRADE_SIGNAL))
    ]
    provision(AdminClient({"bootstrap.servers": stack.kafka}), specs)


def _echo_worker(
    stack: Servers, source: TopicNames, target: TopicNames, app_id: str
) -> subprocess.Popen[bytes]:
    """The Faust echo app (tests/streams/faust_echo_app.py): source prefix -> target prefix."""
    env = {
        **os.environ,
        **stack.environ(),
        "ECHO_SOURCE_PREFIX": source.prefix,
        "ECHO_TARGET_PREFIX": target.prefix,
        "ECHO_APP_ID": app_id,
    }
    argv = [sys.executable, "-m", "tests.streams.faust_echo_app", "worker", "-l", "warn"]
    return subprocess.Popen([*argv, "--without-web"], env=env)


def _committed(stack: Servers, group: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": stack.kafka, "group.id": group})
    try:
        parts = [TopicPartition(topic, p) for p in range(TRADE_SIGNAL.partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


@pytest.mark.timeout(180)
def test_faust_agent_when_poison_pills_arrive_then_dlq_gets_them_and_valid_events_flow(
    stack: Servers, serde: AvroSerde, producer: EventProducer
) -> None:
    source, target = (
        TopicNames(f"fs{uuid.uuid4().hex[:6]}."),
        TopicNames(f"ft{uuid.uuid4().hex[:6]}."),
    )
    _provision(stack, source, target)
    signals = contract(TRADE_SIGNAL, source)
    valid = [example_record("hfos.TradeSignal", seed=s) for s in range(30)]
    pills = [
        b"garbage",
        struct.pack(">bI", 0, 999_999_999) + b"\x00",
        serde.encode(signals, {**valid[0], "confidence": float("inf")}),
    ]
    for index, record in enumerate(valid):
        producer.send(signals, record["account_id"], record)
        if index % 10 == 0:
            producer.send_raw(signals.topic, "acc-poison", pills[index // 10])
    assert producer.flush(30) == 0
    app_id = f"echo-{uuid.uuid4().hex[:8]}"
    worker = _echo_worker(stack, source, target, app_id)
    try:
        time.sleep(1.0)
        assert worker.poll() is None, "the Faust worker exited at start-up"
        copied = read_topic(
            {"bootstrap.servers": stack.kafka},
            target.name(TRADE_SIGNAL),
            len(valid),
            timeout=120,
            settle=1.0,
        )
        letters = read_topic(
            {"bootstrap.servers": stack.kafka}, source.dlq(TRADE_SIGNAL), len(pills), timeout=30
        )
        deadline = time.monotonic() + 30
        while (
            _committed(stack, app_id, signals.topic) < len(valid) + len(pills)
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        committed = _committed(stack, app_id, signals.topic)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)

    assert sorted(
        serde.decode(contract(TRADE_SIGNAL, target), r.value)["signal_id"] for r in copied
    ) == sorted(r["signal_id"] for r in valid)
    assert sorted(r.value or b"" for r in letters) == sorted(pills)
    assert {dlq.read(r.headers).error_type for r in letters} == {
        "FramingError",
        "UnknownSchemaIdError",
        "ValueRuleError",
    }
    assert committed == len(valid) + len(pills)


@pytest.mark.timeout(180)
def test_every_producer_path_when_same_key_then_same_partition_as_java(
    stack: Servers, serde: AvroSerde, producer: EventProducer
) -> None:
    """Issue 11.4: confluent-kafka producers (CLI, executor, exchange, simulator) and the
    stream worker's aiokafka producer map a key to the partition Java's murmur2 gives."""
    source, target = (
        TopicNames(f"fs{uuid.uuid4().hex[:6]}."),
        TopicNames(f"ft{uuid.uuid4().hex[:6]}."),
    )
    _provision(stack, source, target)
    signals = contract(TRADE_SIGNAL, source)
    sent = [
        {**example_record("hfos.TradeSignal", seed=s), "account_id": f"acc-{s}"} for s in range(60)
    ]
    for record in sent:
        producer.send(signals, record["account_id"], record)
    assert producer.flush(30) == 0
    worker = _echo_worker(stack, source, target, f"echo-{uuid.uuid4().hex[:8]}")
    try:
        kafka = {"bootstrap.servers": stack.kafka}
        produced = read_topic(kafka, signals.topic, len(sent), timeout=30)
        copied = read_topic(kafka, target.name(TRADE_SIGNAL), len(sent), timeout=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)

    java = {
        f"acc-{s}": partition_of(f"acc-{s}".encode(), TRADE_SIGNAL.partitions) for s in range(60)
    }
    assert len(set(java.values())) == TRADE_SIGNAL.partitions  # every partition is exercised
    assert {(r.key or b"").decode(): r.partition for r in produced} == java
    assert {(r.key or b"").decode(): r.partition for r in copied} == java
