"""``hfos schemas register`` (the chart's pre-install Job) registers every value schema of
the catalogue in the real registry, idempotently."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

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
    # Each subject looked up by name: a registry's subject listing is paged (Apicurio's
    # ccompat API lists a limited number), so on a long-lived registry the new ones may
    # not be in the first page.
    registry = SchemaRegistryClient({"url": stack.registry})
    missing = set()
    for subject in expected:
        try:
            registry.get_latest_version(subject)
        except SchemaRegistryError:
            missing.add(subject)
    assert missing == set()
    assert len(first.output.splitlines()) == len(expected)
