"""``hfos demo``: a live session against the configured servers.

Until the scenario demo exists, this is the smoke session: provision the topics, send one
Avro heartbeat through the registry, read it back from Kafka, and print both sides.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid

import click
from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.catalogue import SYSTEM_HEARTBEAT
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.errors import HfosError
from schemas.values import to_json
from services.bus.producer import LIBRDKAFKA_LOG
from services.bus.topics import Outcome, provision
from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.command()
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the echo.")
@pass_context
def demo(ctx: Context, timeout: float) -> None:
    """Run a live session: an Avro event produced through the registry and consumed back."""
    reports = provision(ctx.admin, ctx.names.specs())
    created = sum(report.outcome is Outcome.CREATED for report in reports)
    click.echo(f"topics: {len(reports)} in the catalogue, {created} created now")
    beats = contract(SYSTEM_HEARTBEAT, ctx.names)
    now = int(time.time() * 1000)
    instance = f"{socket.gethostname()}-{os.getpid()}"
    event = envelope("hfos-demo", now)
    record = {
        "envelope": event,
        "service": "hfos-demo",
        "instance": instance,
        "status": "HEALTHY",
        "sequence": 1,
        "started_at": now,
        "models": [],
    }
    consumer = _tail_consumer(ctx, beats.topic)
    sent_at = time.perf_counter()
    ctx.producer.send(beats, f"hfos-demo/{instance}", record)
    if ctx.producer.flush(timeout):
        raise HfosError(f"the heartbeat was not acknowledged within {timeout:.0f} s")
    click.echo(
        f"sent     {beats.topic} schema id {ctx.serde.schema_id(beats)}: "
        f"{json.dumps(to_json(beats.schema_name, record))}"
    )
    echoed = _await_echo(ctx, consumer, event["event_id"], timeout)
    latency_ms = (time.perf_counter() - sent_at) * 1000
    click.echo(f"received {beats.topic}: {json.dumps(to_json(beats.schema_name, echoed))}")
    click.echo(f"round trip {latency_ms:.1f} ms — smoke session passed")


def _tail_consumer(ctx: Context, topic: str) -> Consumer:
    """A consumer positioned at the current end of every partition of ``topic``."""
    consumer = Consumer(
        {
            **ctx.kafka,
            "group.id": f"hfos-demo-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "logger": LIBRDKAFKA_LOG,
        }
    )
    partitions = _partitions(consumer, topic)
    starts = [TopicPartition(topic, p, _end_offset(consumer, topic, p)) for p in partitions]
    consumer.assign(starts)
    return consumer


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    """The topic's partitions, once the broker's metadata knows them (a topic created a
    moment ago can still be reported unknown, with no partitions)."""
    deadline = time.monotonic() + 30
    while True:
        found = consumer.list_topics(topic, timeout=30).topics[topic]
        if (found.error is None and found.partitions) or time.monotonic() > deadline:
            return list(found.partitions)
        time.sleep(0.1)


def _end_offset(consumer: Consumer, topic: str, partition: int) -> int:
    """The partition's end offset. Right after a topic is created the broker may answer
    with an invalid offset for a moment; assigning that would fall back to "latest",
    resolved only after our send, and the echo would be missed."""
    deadline = time.monotonic() + 30
    while True:
        try:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            high = -1  # no leader yet for a topic this young: ask again
        if high >= 0:
            return int(high)
        time.sleep(0.1)


def _await_echo(
    ctx: Context, consumer: Consumer, event_id: str, timeout: float
) -> dict[str, object]:
    beats = contract(SYSTEM_HEARTBEAT, ctx.names)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            value = ctx.serde.decode(beats, message.value())
            if value["envelope"]["event_id"] == event_id:
                return value
    finally:
        consumer.close()
    raise HfosError(f"the heartbeat did not come back within {timeout:.0f} s")
