"""``hfos schemas register`` (the chart's pre-install Job) registers every value schema of
the catalogue in the real registry, idempotently."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import TOPICS
from services.cli.main import cli
from services.testing import Servers

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


def test_register_when_run_twice_then_every_value_subject_registered_with_same_ids(
    stack: Servers,
) -> None:
    prefix = f"reg{uuid.uuid4().hex[:8]}."
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": prefix}
    first = CliRunner().invoke(cli, ["schemas", "register"], env=env)
    second = CliRunner().invoke(cli, ["schemas", "register"], env=env)

    assert first.exit_code == 0, first.output
    assert second.output == first.output
    expected = {f"{prefix}{spec.name}-value" for spec in TOPICS if spec.value_schema}
    registered = set(SchemaRegistryClient({"url": stack.registry}).get_subjects())
    assert expected <= registered
    assert len(first.output.splitlines()) == len(expected)
