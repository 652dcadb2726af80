"""Suite-wide fixtures: the real servers, and names unique to this run."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from hypothesis import settings

from schemas.catalogue import TopicNames
from schemas.loader import AVRO_DIR
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers, servers, unique_name

# CI must be reproducible: the same examples every run (a failure there is then a real,
# repeatable one). Locally, hypothesis keeps drawing new examples to find new bugs.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def stack() -> Iterator[Servers]:
    """Real Kafka, schema registry and Redis (environment, Docker, or the local stack)."""
    with servers() as found:
        yield found


@pytest.fixture(autouse=True)
def _drop_topics_the_test_created(request: pytest.FixtureRequest) -> Iterator[None]:
    """With HFOS_TEST_DROP_TOPICS=1 (``scripts/test`` sets it), delete the topics a stack
    test created once it is done. Every test provisions a whole catalogue under its own
    prefix; kept, a suite's ~20 000 partitions exhaust the broker's open-file limit.
    Off by default: the diff of topic lists cannot tell this run's topics from those of
    another test run sharing the broker."""
    if os.environ.get("HFOS_TEST_DROP_TOPICS") != "1" or not request.node.get_closest_marker(
        "stack"
    ):
        yield
        return
    found: Servers = request.getfixturevalue("stack")
    admin = AdminClient({"bootstrap.servers": found.kafka})
    before = set(admin.list_topics(timeout=30).topics)
    yield
    created = [
        topic
        for topic in set(admin.list_topics(timeout=30).topics) - before
        if not topic.startswith("_")
    ]
    if created:
        for future in admin.delete_topics(created, operation_timeout=30).values():
            with contextlib.suppress(KafkaException):  # already gone: nothing to do
                future.result(60)


@pytest.fixture
def local_stack(stack: Servers) -> Servers:
    """The servers, when this suite controls them and may kill and restart them."""
    if stack.local is None:
        pytest.skip("needs the local stack: servers came from the environment or Docker")
    return stack


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


@pytest.fixture
def topic_name() -> str:
    """A topic name no other test or run uses."""
    return unique_name("test")


def _git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh repository with no commits; user and system git config are ignored."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    _git(tmp_path, "init", "-q")
    return tmp_path


@pytest.fixture
def avro_dir(repo: Path) -> Path:
    """schemas/avro copied into ``repo`` and committed."""
    target = repo / "schemas" / "avro"
    shutil.copytree(AVRO_DIR, target)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-gpg-sign", "-m", "schemas")
    return target
