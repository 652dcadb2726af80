"""A policy deployment of its own: topics under a fresh prefix and a running worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.topics import provision
from services.policy.store import PolicyStore
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.workers import running_worker


@dataclass
class Deployment:
    stack: Servers
    names: TopicNames
    serde: AvroSerde
    app_id: str
    log: Path
    views: list[PolicyView] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**self.stack.environ(), "HFOS_TOPIC_PREFIX": self.names.prefix}

    def view(self) -> PolicyView:
        view = PolicyView({"bootstrap.servers": self.stack.kafka}, self.names, self.serde)
        self.views.append(view)
        assert view.wait_caught_up(30)
        return view

    def store(self, reader: str = "test") -> PolicyStore:
        client = redis.Redis.from_url(
            self.stack.redis, socket_timeout=0.2, socket_connect_timeout=0.2
        )
        return PolicyStore(client, self.view(), self.names.prefix, reader=reader)


def wait_for(predicate: object, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def deployment(
    stack: Servers, serde: AvroSerde, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Shared by a module's tests (a worker start costs seconds): tests read the current
    version instead of assuming one."""
    names = TopicNames(f"pol{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    log = tmp_path_factory.mktemp("policy") / "worker.log"
    found = Deployment(stack, names, serde, f"{names.prefix}streams", log)
    with running_worker(found.env, found.app_id, found.log):
        view = found.view()
        seeded = wait_for(
            lambda: len(view.state().versions) == 3 and "global" in view.state().activations, 90
        )
        assert seeded, found.log.read_text()[-3000:]
        yield found
    for view in found.views:
        view.close()
