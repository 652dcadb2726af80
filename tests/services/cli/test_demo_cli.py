"""``hfos demo`` (the smoke session) round-trips an Avro event through the real stack."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from services.cli.main import cli
from services.testing import Servers

pytestmark = pytest.mark.stack


def test_demo_when_stack_up_then_event_sent_and_received_back(stack: Servers) -> None:
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": f"d{uuid.uuid4().hex[:8]}."}

    result = CliRunner().invoke(cli, ["demo"], env=env, catch_exceptions=False)

    assert result.exit_code == 0
    sent = next(line for line in result.stdout.splitlines() if line.startswith("sent"))
    received = next(line for line in result.stdout.splitlines() if line.startswith("received"))
    assert sent.split(": ", 1)[1] == received.split(": ", 1)[1]
    assert "smoke session passed" in result.stdout
