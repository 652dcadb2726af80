"""Finding (or starting) the real servers a test suite runs against."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from services.localstack.stack import LocalStack


@dataclass(frozen=True)
class Servers:
    """Addresses of the three servers; ``local`` is set when the suite controls them."""

    kafka: str
    registry: str
    redis: str
    local: LocalStack | None = None

    def environ(self) -> dict[str, str]:
        """The environment a child process (a CLI, a worker) needs to reach them."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "SCHEMA_REGISTRY_URL": self.registry,
            "REDIS_URL": self.redis,
        }


def unique_name(stem: str) -> str:
    """A name no earlier run used, so a suite can run twice on the same servers."""
    return f"{stem}-{uuid.uuid4().hex[:10]}"


@contextmanager
def servers() -> Iterator[Servers]:
    """Yield real servers: from the environment, from Docker, or the local stack."""
    from_env = _from_environment()
    if from_env is not None:
        yield from_env
        return
    if _docker_answers():
        with _from_testcontainers() as found:
            yield found
        return
    stack = LocalStack()
    # Only a stack with no process alive counts as started here (and is stopped again at
    # the end): a running one that answers slowly on a busy machine belongs to someone.
    started_here = not stack.any_running()
    state = stack.up()
    addresses = state.addresses()
    try:
        yield Servers(
            kafka=addresses["KAFKA_BOOTSTRAP_SERVERS"],
            registry=addresses["SCHEMA_REGISTRY_URL"],
            redis=addresses["REDIS_URL"],
            local=stack,
        )
    finally:
        if started_here:
            stack.down()


def _from_environment() -> Servers | None:
    names = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "REDIS_URL")
    values = [os.environ.get(name) for name in names]
    if not all(values):
        return None
    kafka, registry, redis_url = (str(value) for value in values)
    return Servers(kafka=kafka, registry=registry, redis=redis_url)


def _docker_answers() -> bool:
    try:
        import docker  # noqa: PLC0415 - optional: only users with Docker need it

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - no engine, no socket, no package: all mean "no Docker"
        return False


@contextmanager
def _from_testcontainers() -> Iterator[Servers]:
    """The path a user with a Docker engine gets (this project's CI machine has none)."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.core.waiting_utils import wait_for_logs  # noqa: PLC0415
    from testcontainers.kafka import KafkaContainer  # noqa: PLC0415
    from testcontainers.redis import RedisContainer  # noqa: PLC0415

    with ExitStack() as stack:
        # testcontainers' default Confluent image: its start script is what KafkaContainer
        # drives; the Apache image needs a different one.
        kafka = stack.enter_context(KafkaContainer().with_kraft())
        redis_c = stack.enter_context(RedisContainer("redis:7"))
        registry = stack.enter_context(
            DockerContainer("apicurio/apicurio-registry:3.3.3").with_exposed_ports(8080)
        )
        wait_for_logs(registry, "Listening on", timeout=120)
        host, port = registry.get_container_host_ip(), registry.get_exposed_port(8080)
        redis_host = redis_c.get_container_host_ip()
        yield Servers(
            kafka=kafka.get_bootstrap_server(),
            registry=f"http://{host}:{port}/apis/ccompat/v7",
            redis=f"redis://{redis_host}:{redis_c.get_exposed_port(6379)}/0",
        )
