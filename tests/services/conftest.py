"""Fixtures for service tests: provisioned topics under a unique prefix, a serde, a producer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers


@pytest.fixture
def names(stack: Servers) -> TopicNames:
    """Every catalogue topic, provisioned under a prefix unique to this test."""
    names = TopicNames(f"t{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    return names


@pytest.fixture(scope="session")
def serde(stack: Servers) -> AvroSerde:
    return AvroSerde(SchemaRegistryClient({"url": stack.registry}))


@pytest.fixture
def producer(stack: Servers, serde: AvroSerde) -> Iterator[EventProducer]:
    producer = EventProducer({"bootstrap.servers": stack.kafka}, serde, service="test")
    yield producer
    producer.flush(30)
