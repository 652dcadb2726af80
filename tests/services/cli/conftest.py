"""A desk of its own for CLI tests: topics under a fresh prefix, a running stream worker with
its seeded policy, and the real ``hfos`` entry point pointed at them."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from schemas.catalogue import TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.cleanup import delete_topics, topics_under_prefix
from services.bus.topics import provision
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.cli import CliRun, run_cli
from services.testing.kafka import end_offset, read_topic
from services.testing.workers import running_worker


@dataclass
class Desk:
    stack: Servers
    names: TopicNames
    serde: AvroSerde
    log: Path

    @property
    def env(self) -> dict[str, str]:
        return {**self.stack.environ(), "HFOS_TOPIC_PREFIX": self.names.prefix}

    def hfos(self, *argv: str, stdin: str | None = None) -> CliRun:
        """``hfos *argv`` through the real entry point, against this desk."""
        return run_cli(argv, self.env, stdin)

    def ends(self, *specs: TopicSpec) -> dict[str, int]:
        """End offset (summed over partitions) of each topic: what a write moves."""
        config = {"bootstrap.servers": self.stack.kafka}
        return {spec.name: end_offset(config, self.names.name(spec)) for spec in specs}

    def records(self, spec: TopicSpec, expected: int, settle: float = 0.5) -> list[Any]:
        """At least ``expected`` raw records of ``spec``'s topic (and any within ``settle``)."""
        return read_topic(
            {"bootstrap.servers": self.stack.kafka},
            self.names.name(spec),
            expected,
            timeout=30,
            settle=settle,
        )

    def decoded(self, spec: TopicSpec, expected: int) -> list[dict[str, Any]]:
        target = contract(spec, self.names)
        return [self.serde.decode(target, r.value) for r in self.records(spec, expected)]


def _wait_seeded(desk: Desk) -> None:
    view = PolicyView({"bootstrap.servers": desk.stack.kafka}, desk.names, desk.serde)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = view.state()
            if len(state.versions) == 3 and "global" in state.activations:
                return
            time.sleep(0.05)
    finally:
        view.close()
    raise AssertionError(f"policy never seeded; worker log:\n{desk.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def desk(
    stack: Servers, serde: AvroSerde, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    """Shared by a module's tests (a worker start costs seconds): each test uses scopes,
    profiles' current versions or accounts of its own."""
    names = TopicNames(f"cli{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    log = tmp_path_factory.mktemp("cli") / "worker.log"
    found = Desk(stack, names, serde, log)
    with running_worker(found.env, f"{names.prefix}streams", log):
        _wait_seeded(found)
        yield found
    if os.environ.get("HFOS_TEST_DROP_TOPICS") == "1":
        # The suite-wide cleanup sees only what one test created; a module's desk is
        # created before its first test, so it removes its own topics (and changelogs).
        admin = AdminClient({"bootstrap.servers": stack.kafka})
        delete_topics(admin, topics_under_prefix(admin, names.prefix))
