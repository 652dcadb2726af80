"""The local stack's servers are real and behave like the ones users run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
import redis
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from services.bus.topics import wait_until_visible
from services.testing import Servers

pytestmark = pytest.mark.stack


def _create_topic(admin: AdminClient, name: str, config: dict[str, str] | None = None) -> None:
    futures = admin.create_topics([NewTopic(name, 3, 1, config=config or {})])
    futures[name].result(timeout=30)
    wait_until_visible(admin, {name: 3})


def _consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        while len(values) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF
                continue
            value = message.value()
            assert value is not None
            values.append(value)
    finally:
        consumer.close()
    return values


def test_create_topic_when_configs_given_then_broker_reports_them(
    stack: Servers, topic_name: str
) -> None:
    admin = AdminClient({"bootstrap.servers": stack.kafka})
    _create_topic(admin, topic_name, {"cleanup.policy": "compact", "retention.ms": "86400000"})

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)

    assert configs["cleanup.policy"].value == "compact"
    assert configs["retention.ms"].value == "86400000"
    assert len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 3


def test_produce_when_acknowledged_then_consumer_reads_every_message(
    stack: Servers, topic_name: str
) -> None:
    _create_topic(AdminClient({"bootstrap.servers": stack.kafka}), topic_name)
    producer = Producer(
        {"bootstrap.servers": stack.kafka, "enable.idempotence": True, "acks": "all"}
    )
    sent = [f"m{i}".encode() for i in range(50)]
    for value in sent:
        producer.produce(topic_name, value, key=value)
    assert producer.flush(30) == 0

    assert sorted(_consume_all(stack.kafka, topic_name, len(sent))) == sorted(sent)


def test_register_schema_when_confluent_api_used_then_registry_returns_it(stack: Servers) -> None:
    client = SchemaRegistryClient({"url": stack.registry})
    subject = f"smoke-{uuid.uuid4().hex}-value"
    schema = Schema(
        json.dumps(
            {
                "type": "record",
                "name": "Smoke",
                "namespace": "hfos.test",
                "fields": [{"name": "n", "type": "long"}],
            }
        ),
        "AVRO",
    )

    schema_id = client.register_schema(subject, schema)

    fetched = client.get_schema(schema_id)
    assert json.loads(fetched.schema_str or "{}")["name"] == "Smoke"
    assert client.get_latest_version(subject).schema_id == schema_id


def test_registry_when_stack_is_up_then_compatibility_is_backward(stack: Servers) -> None:
    client = SchemaRegistryClient({"url": stack.registry})
    if stack.local is None:
        pytest.skip("an external registry's global level is its operator's choice")
    assert client.get_compatibility() == "BACKWARD"


def test_redis_when_stack_is_up_then_it_answers(stack: Servers) -> None:
    client = redis.Redis.from_url(stack.redis)
    key = f"hfos-test-{uuid.uuid4().hex}"
    client.set(key, "1", ex=60)
    assert client.ping() is True
    assert client.get(key) == b"1"


@pytest.mark.localstack
@pytest.mark.timeout(300)
def test_broker_when_sigkilled_and_restarted_then_acknowledged_messages_survive(
    local_stack: Servers, topic_name: str
) -> None:
    """Every message acknowledged (acks=all) before a SIGKILL is still there after restart."""
    assert local_stack.local is not None
    _create_topic(AdminClient({"bootstrap.servers": local_stack.kafka}), topic_name)
    producer = Producer(
        {"bootstrap.servers": local_stack.kafka, "enable.idempotence": True, "acks": "all"}
    )
    acknowledged: list[bytes] = []

    def on_delivery(error: KafkaError | None, message: object) -> None:
        if error is None:
            acknowledged.append(message.value())  # type: ignore[attr-defined]

    for i in range(2000):
        producer.produce(topic_name, f"v{i}".encode(), on_delivery=on_delivery)
    assert producer.flush(30) == 0

    local_stack.local.kill("kafka")
    local_stack.local.start("kafka")

    assert len(acknowledged) == 2000
    assert sorted(_consume_all(local_stack.kafka, topic_name, 2000)) == sorted(acknowledged)


def test_stack_status_json_when_up_then_all_three_healthy(local_stack: Servers) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "stack", "status", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    report = json.loads(done.stdout or "{}")
    assert done.returncode == 0, done.stderr
    assert {name: part["healthy"] for name, part in report.items()} == {
        "kafka": True,
        "registry": True,
        "redis": True,
    }
