"""``hfos topics`` as a user means it (issue 13 point 6): catalogue names resolve under
``HFOS_TOPIC_PREFIX``; records and lag count what a consumer reads, not offsets
(transaction markers); ``tail`` filters by key, partition, offset and time; ``delete``
removes one prefix's topics and refuses without one."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from schemas.catalogue import ALL_TOPICS, BALANCE_UPDATED, ORDER_REJECTED, TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.serde import AvroSerde
from schemas.values import to_json
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.cli import CliRun, run_cli

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]


@pytest.fixture
def names(stack: Servers) -> TopicNames:
    found = TopicNames(f"ti{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), found.specs())
    return found


def _hfos(stack: Servers, names: TopicNames, *argv: str, stdin: str | None = None) -> CliRun:
    return run_cli(argv, {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix}, stdin)


def _lines(result: CliRun) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _by_partition(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(lines, key=lambda line: (line["partition"], line["offset"]))


def _signals(producer: EventProducer, names: TopicNames, accounts: list[str]) -> None:
    target = contract(TRADE_SIGNAL, names)
    for seed, account in enumerate(accounts):
        record = {**example_record("hfos.TradeSignal", seed=seed), "account_id": account}
        producer.send(target, account, record)
    assert producer.flush(30) == 0


def test_topics_when_catalogue_name_given_under_prefix_then_resolved(
    stack: Servers, names: TopicNames, producer: EventProducer
) -> None:
    _signals(producer, names, ["acc-1", "acc-2"])
    value = to_json("hfos.BalanceUpdated", example_record("hfos.BalanceUpdated", seed=9))
    balance = json.dumps({"key": "acc-9", "value": value})

    tailed = _hfos(stack, names, "topics", "tail", "trade.signal", "--from-beginning")
    full = _hfos(stack, names, "topics", "tail", names.name(TRADE_SIGNAL), "--from-beginning")
    produced = _hfos(stack, names, "topics", "produce", "balance.updated", stdin=balance)
    described = _hfos(stack, names, "topics", "describe", "order.rejected")

    assert tailed.exit_code == 0, tailed.output
    assert {line["topic"] for line in _lines(tailed)} == {names.name(TRADE_SIGNAL)}
    assert len(_lines(tailed)) == 2
    # Kafka orders records within a partition only: the two reads may interleave the two
    # accounts' partitions differently (seen in CI).
    assert _by_partition(_lines(full)) == _by_partition(_lines(tailed))
    assert produced.exit_code == 0, produced.output
    assert f"sent 1 events to {names.name(BALANCE_UPDATED)}" in produced.stderr
    assert json.loads(described.stdout)["topic"] == names.name(ORDER_REJECTED)


def test_topics_tail_when_topic_unknown_then_refused_with_close_names_not_all(
    stack: Servers, names: TopicNames
) -> None:
    result = _hfos(stack, names, "topics", "tail", "order.rejectd")

    assert result.exit_code == 2
    assert "did you mean order.rejected" in result.stderr
    assert len(result.stderr) < 600  # not the 46 names on one line


def test_topics_list_when_transactional_then_records_and_lag_count_records_not_markers(
    stack: Servers, names: TopicNames, serde: AvroSerde
) -> None:
    topic = names.name(ORDER_REJECTED)
    target = contract(ORDER_REJECTED, names)
    sender = Producer(
        {"bootstrap.servers": stack.kafka, "transactional.id": f"t-{uuid.uuid4().hex}"}
    )
    sender.init_transactions(30)
    for seed in range(3):  # three transactions of one record: 3 records, 6 offsets
        sender.begin_transaction()
        record = example_record("hfos.OrderRejected", seed=seed)
        sender.produce(topic, serde.encode(target, record), key=record["account_id"])
        sender.commit_transaction(30)
    group = f"reader-{uuid.uuid4().hex[:6]}"
    reader = Consumer(
        {
            "bootstrap.servers": stack.kafka,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    reader.subscribe([topic])
    seen, deadline = 0, time.monotonic() + 30
    while seen < 3 and time.monotonic() < deadline:
        seen += len([m for m in reader.consume(10, 0.5) if m.error() is None])
    reader.commit(asynchronous=False)  # finished: committed past its last record
    reader.close()

    rows = {row["topic"]: row for row in _lines(_hfos(stack, names, "topics", "list", "--json"))}
    described = json.loads(_hfos(stack, names, "topics", "describe", "order.rejected").stdout)

    row = rows[topic]
    assert sum(row["end_offsets"].values()) == 6
    assert row["records"] == 3
    assert row["exact"] is True
    assert row["lag"][group] == 0
    assert described["records"] == 3
    assert described["lag"][group] == 0


def test_topics_tail_when_key_partition_offset_or_since_given_then_only_those_records(
    stack: Servers, names: TopicNames, producer: EventProducer
) -> None:
    _signals(producer, names, ["acc-1", "acc-2", "acc-1", "acc-3", "acc-1"])
    every = _lines(_hfos(stack, names, "topics", "tail", "trade.signal", "--from-beginning"))
    where = next(line for line in every if line["key"] == "acc-2")

    by_key = _hfos(
        stack, names, "topics", "tail", "trade.signal", "--from-beginning", "--key", "acc-1"
    )
    by_partition = _hfos(
        stack, names, "topics", "tail", "trade.signal", "--from-beginning",
        "--partition", str(where["partition"]),
    )  # fmt: skip
    by_offset = _hfos(
        stack, names, "topics", "tail", "trade.signal",
        "--partition", str(where["partition"]), "--offset", str(where["offset"]),
    )  # fmt: skip
    recent = _hfos(stack, names, "topics", "tail", "trade.signal", "--since", "10m")
    future = _hfos(
        stack, names, "topics", "tail", "trade.signal", "--since", "2999-01-01T00:00:00Z"
    )
    both = _hfos(stack, names, "topics", "tail", "trade.signal", "--offset", "0", "--since", "1h")

    assert len(every) == 5
    assert [line["key"] for line in _lines(by_key)] == ["acc-1"] * 3
    assert {line["partition"] for line in _lines(by_partition)} == {where["partition"]}
    assert _lines(by_offset)[0]["offset"] == where["offset"]
    assert len(_lines(recent)) == 5
    assert _lines(future) == []
    assert both.exit_code == 2
    assert "at most one of --offset, --since" in both.stderr


def test_topics_tail_when_partition_missing_then_refused_naming_the_range(
    stack: Servers, names: TopicNames
) -> None:
    result = _hfos(stack, names, "topics", "tail", "trade.signal", "--partition", "99")

    assert result.exit_code == 1
    last = TRADE_SIGNAL.partitions - 1
    assert f"has no partition 99: its partitions are 0..{last}" in result.stderr


def test_topics_delete_when_prefix_given_then_only_its_topics_go(
    stack: Servers, names: TopicNames
) -> None:
    other = TopicNames(f"tk{uuid.uuid4().hex[:8]}.")
    admin = AdminClient({"bootstrap.servers": stack.kafka})
    provision(admin, other.specs())

    dry = _hfos(stack, names, "topics", "delete", "--prefix", names.prefix, "--dry-run")
    refused = _hfos(stack, names, "topics", "delete", "--prefix", names.prefix)  # no tty, no --yes
    deleted = _hfos(stack, names, "topics", "delete", "--prefix", names.prefix, "--yes")
    deadline = time.monotonic() + 30
    left = set(admin.list_topics(timeout=10).topics)
    while any(t.startswith(names.prefix) for t in left) and time.monotonic() < deadline:
        time.sleep(0.2)
        left = set(admin.list_topics(timeout=10).topics)

    assert len(dry.stdout.splitlines()) == len(ALL_TOPICS)
    assert refused.exit_code == 2
    assert deleted.exit_code == 0, deleted.output
    assert not any(topic.startswith(names.prefix) for topic in left)
    assert {other.name(spec) for spec in ALL_TOPICS} <= left


@pytest.mark.parametrize("prefix", ["", "  ", "_", "__consumer"])
def test_topics_delete_when_prefix_empty_or_internal_then_refused(
    stack: Servers, names: TopicNames, prefix: str
) -> None:
    result = _hfos(stack, names, "topics", "delete", "--prefix", prefix, "--yes")

    assert result.exit_code == 2
    assert "--prefix" in result.stderr
