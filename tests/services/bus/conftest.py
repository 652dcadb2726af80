"""Topics for the bus's stack tests: fresh, one partition each, on the test's broker
(deleted afterwards with the rest: tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from services.testing import Servers

CreateTopics = Callable[..., None]


@pytest.fixture
def create_topics(stack: Servers) -> CreateTopics:
    """``create_topics(name, ...)``: each topic with one partition, once the broker has it."""

    def create(*names: str) -> None:
        admin = AdminClient({"bootstrap.servers": stack.kafka})
        for future in admin.create_topics([NewTopic(name, 1, 1) for name in names]).values():
            future.result(30)

    return create


@pytest.fixture
def topic(create_topics: CreateTopics) -> str:
    """A fresh one-partition topic."""
    name = f"bus{uuid.uuid4().hex[:8]}"
    create_topics(name)
    return name
