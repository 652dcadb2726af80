"""Topic provisioning is idempotent and reports drift instead of accepting it."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from schemas.catalogue import ALL_TOPICS, POLICY_UPDATED, POSITION_UPDATED, TopicNames
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
