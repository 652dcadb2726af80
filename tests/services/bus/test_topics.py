"""Topic provisioning is idempotent and reports drift instead of accepting it."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from schemas.catalogue import ALL_TOPICS, POLICY_UPDATED, POSITION_UPDATED, TopicNames, TopicSpec
from services.bus.topics import Outcome, provision
from services.testing import Servers

pytestmark = pytest.mark.stack


def test_provision_twice_when_catalogue_unchanged_then_second_run_changes_nothing(
    stack: Servers,
) -> None:
    admin = AdminClient({"bootstrap.servers": stack.kafka})
    names = TopicNames(f"p{uuid.uuid4().hex[:8]}.")

    first = provision(admin, names.specs())
    second = provision(admin, names.specs())

    assert {report.outcome for report in first} == {Outcome.CREATED}
    assert len(first) == len(ALL_TOPICS)
    assert {report.outcome for report in second} == {Outcome.UNCHANGED}


def test_provision_when_topic_has_wrong_partitions_and_cleanup_then_mismatch_reported(
    stack: Servers,
) -> None:
    admin = AdminClient({"bootstrap.servers": stack.kafka})
    names = TopicNames(f"p{uuid.uuid4().hex[:8]}.")
    wrong = NewTopic(names.name(POSITION_UPDATED), 2, 1, config={"cleanup.policy": "compact"})
    admin.create_topics([wrong])[wrong.topic].result(timeout=30)
    _wait_visible(admin, wrong.topic)
    spec = replace(POSITION_UPDATED, name=names.name(POSITION_UPDATED))

    [report] = provision(admin, [spec])

    assert report.outcome is Outcome.MISMATCHED
    assert any("2 partitions" in problem for problem in report.problems)
    assert any("cleanup.policy=compact" in problem for problem in report.problems)


def _wait_visible(admin: AdminClient, name: str) -> None:
    """CreateTopics returns once the controller committed; the broker's metadata follows."""
    deadline = time.monotonic() + 10
    while name not in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.05)


def test_provision_when_control_topic_created_then_it_is_compacted(stack: Servers) -> None:
    admin = AdminClient({"bootstrap.servers": stack.kafka})
    names = TopicNames(f"p{uuid.uuid4().hex[:8]}.")
    spec = replace(POLICY_UPDATED, name=names.name(POLICY_UPDATED))

    provision(admin, [spec])
    _wait_visible(admin, spec.name)

    resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    assert configs["cleanup.policy"].value == "compact"


ROUNDS = 2
"""Each round races three provisioners over a whole catalogue."""


def test_provision_when_two_processes_create_the_same_topics_at_once_then_both_succeed(
    stack: Servers,
) -> None:
    """Two workers starting together both provision the tables' changelogs. The loser of
    each creation race got TOPIC_ALREADY_EXISTS, then described a topic its broker did not
    show yet: UNKNOWN_TOPIC_OR_PART, and the worker exited (a 2-worker scale-out run lost
    its second worker this way)."""
    failures: list[BaseException] = []
    reports: list[list[Outcome]] = []

    def provision_all(specs: list[TopicSpec]) -> None:
        try:
            found = provision(AdminClient({"bootstrap.servers": stack.kafka}), specs)
            reports.append([report.outcome for report in found])
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    for _ in range(ROUNDS):
        specs = list(TopicNames(f"r{uuid.uuid4().hex[:8]}.").specs())
        racers = [threading.Thread(target=provision_all, args=(specs,)) for _ in range(3)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(120)

    assert failures == []
    assert len(reports) == 3 * ROUNDS
    assert all(Outcome.MISMATCHED not in outcomes for outcomes in reports)
