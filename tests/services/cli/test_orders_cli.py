"""``hfos orders`` (issue 13 point 7): the newest decisions and failures from the topics,
merged by event time, for one account or all, in text or JSON with ISO-8601 UTC times."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from schemas.catalogue import ORDER_FAILED, ORDER_REJECTED, ORDER_REQUESTED, TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.values import iso_millis
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.cli import CliRun, run_cli

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

SCHEMA = {ORDER_REQUESTED: "hfos.OrderRequested", ORDER_REJECTED: "hfos.OrderRejected",
          ORDER_FAILED: "hfos.OrderFailed"}  # fmt: skip


@pytest.fixture
def names(stack: Servers) -> TopicNames:
    found = TopicNames(f"or{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), found.specs())
    return found


def _hfos(stack: Servers, names: TopicNames, *argv: str) -> CliRun:
    return run_cli(argv, {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix})


def _order(spec: TopicSpec, account: str, at: int, seed: int) -> dict[str, Any]:
    record = example_record(SCHEMA[spec], seed=seed)
    record["envelope"] = {**record["envelope"], "event_time": at}
    record["account_id"] = account
    record["order_id"] = f"{account}-{seed}"
    return record


def test_orders_when_account_given_then_its_newest_across_topics_in_time_order(
    stack: Servers, names: TopicNames, producer: EventProducer
) -> None:
    start = int(time.time() * 1000) - 60_000
    plan = [  # (topic, account, ms after start): acc-7's newest four are seeds 3..6
        (ORDER_REQUESTED, "acc-7", 0), (ORDER_REJECTED, "acc-7", 1_000),
        (ORDER_FAILED, "acc-7", 2_000), (ORDER_REQUESTED, "acc-7", 3_000),
        (ORDER_REJECTED, "acc-7", 4_000), (ORDER_FAILED, "acc-7", 5_000),
        (ORDER_REQUESTED, "acc-7", 6_000),
    ]  # fmt: skip
    for seed, (spec, account, offset) in enumerate(plan):
        producer.send(contract(spec, names), account, _order(spec, account, start + offset, seed))
    # Then a busy desk: 4 000 decisions of other accounts after acc-7's last one, ~670 a
    # partition: the newest 500-offset window of its partition holds none of acc-7's.
    for seed in range(4_000):
        other = f"busy-{seed % 40}"
        record = _order(ORDER_REQUESTED, other, start + 10_000 + seed, 100 + seed)
        producer.send(contract(ORDER_REQUESTED, names), other, record)
    assert producer.flush(60) == 0

    result = _hfos(stack, names, "orders", "--account", "acc-7", "--last", "4", "--json")
    text = _hfos(stack, names, "orders", "--account", "acc-7", "--last", "4")

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["record"]["order_id"] for row in rows] == [f"acc-7-{s}" for s in (3, 4, 5, 6)]
    assert [row["outcome"] for row in rows] == ["REQUESTED", "REJECTED", "FAILED", "REQUESTED"]
    assert rows[0]["time"] == iso_millis(start + 3_000)
    assert len(text.stdout.splitlines()) == 4
    assert "REJECTED" in text.stdout
    assert "acc-7-6" in text.stdout.splitlines()[-1]


def test_orders_when_no_account_given_then_newest_of_every_account(
    stack: Servers, names: TopicNames, producer: EventProducer
) -> None:
    start = int(time.time() * 1000) - 10_000
    for seed in range(30):
        account = f"acc-{seed % 5}"
        record = _order(ORDER_REJECTED, account, start + seed, seed)
        producer.send(contract(ORDER_REJECTED, names), account, record)
    assert producer.flush(30) == 0

    rows = [
        json.loads(line)
        for line in _hfos(stack, names, "orders", "--last", "5", "--json").stdout.splitlines()
    ]

    assert [row["record"]["order_id"] for row in rows] == [
        f"acc-{s % 5}-{s}" for s in range(25, 30)
    ]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--account", "acc\x1b[31m"], "--account"),
        (["--account", "a" * 65], "--account"),
        (["--last", "0"], "--last"),
        (["--last", "100001"], "--last"),
    ],
)
def test_orders_when_argument_bad_then_refused_naming_it(
    stack: Servers, names: TopicNames, argv: list[str], named: str
) -> None:
    result = _hfos(stack, names, "orders", *argv)

    assert result.exit_code == 2
    assert f"Invalid value for '{named}'" in result.stderr
