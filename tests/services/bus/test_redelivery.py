"""A consumer killed after its effect but before its commit causes no second effect."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import replace

import pytest
import redis
from confluent_kafka.admin import AdminClient

from schemas.catalogue import TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.effects import EffectLedger

pytestmark = pytest.mark.stack

INPUTS = 200
DIE_AFTER = 120


@pytest.mark.timeout(180)
def test_consumer_when_killed_after_effect_before_commit_then_redelivery_has_no_second_effect(
    stack: Servers, producer: EventProducer
) -> None:
    names = TopicNames(f"r{uuid.uuid4().hex[:8]}.")
    provision(
        AdminClient({"bootstrap.servers": stack.kafka}),
        [replace(TRADE_SIGNAL, name=names.name(TRADE_SIGNAL))],
    )
    signals = contract(TRADE_SIGNAL, names)
    for seed in range(INPUTS):
        record = example_record("hfos.TradeSignal", seed=seed)
        producer.send(signals, record["account_id"], record)
    assert producer.flush(30) == 0
    ledger_ns = f"ledger-{uuid.uuid4().hex}"
    argv = [
        sys.executable,
        "-m",
        "tests.services.bus.redelivery_worker",
        "--kafka",
        stack.kafka,
        "--registry",
        stack.registry,
        "--redis",
        stack.redis,
        "--prefix",
        names.prefix,
        "--group",
        f"g-{uuid.uuid4().hex}",
        "--ledger",
        ledger_ns,
        "--expect",
        str(INPUTS),
    ]

    crashed = subprocess.run([*argv, "--die-after", str(DIE_AFTER)], timeout=90, check=False)
    resumed = subprocess.run(argv, timeout=90, check=False)

    ledger = EffectLedger(redis.Redis.from_url(stack.redis), ledger_ns)
    assert crashed.returncode == -9  # SIGKILL: no shutdown hook, no commit
    assert resumed.returncode == 0
    assert ledger.attempts() >= INPUTS + DIE_AFTER  # the first 120 were delivered twice
    assert ledger.applied() == INPUTS  # … and took effect once
