"""The execution-error trigger in a real worker on real Kafka (SPEC §4): five failed
orders of an account within 15 minutes put it into REDUCING; a failure delivered twice
counts once, the count survives a worker restart, and an unreadable record is
dead-lettered."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from schemas import dlq
from schemas.catalogue import ESS_TRANSITION, ORDER_FAILED
from schemas.contracts import contract
from schemas.enums import ExecutionFailure
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.exchange.effects import OrderFailure, failure_id
from services.exchange.records import Cause, failure_record
from services.testing import Servers
from services.testing.kafka import read_topic
from services.testing.workers import running_worker
from tests.streams.drawdown.test_breaker_worker import Bench
from tests.streams.ess.test_ess_worker import _state

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


@pytest.fixture
def bench(stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path) -> Bench:
    return Bench(stack, serde, producer, tmp_path / "worker.log")


def _failure(account: str, order_id: str) -> dict[str, Any]:
    """The record the paper exchange publishes for an order it cannot execute."""
    failure = OrderFailure(
        failure_id(order_id),
        account,
        order_id,
        "BTCUSDT",
        ExecutionFailure.UNKNOWN_ACCOUNT,
        "not funded",
    )
    return failure_record(failure, Cause(order_id, None, int(time.time() * 1000)))


def _send(bench: Bench, account: str, *records: dict[str, Any]) -> None:
    for record in records:
        bench.producer.send(contract(ORDER_FAILED, bench.names), account, record)
    assert bench.producer.flush(30) == 0


def test_execution_errors_when_fifth_distinct_failure_then_account_reducing_once(
    bench: Bench, producer: EventProducer
) -> None:
    account = f"acc-{uuid.uuid4().hex[:6]}"
    failures = [_failure(account, f"order-{i}") for i in range(5)]
    target = contract(ORDER_FAILED, bench.names)

    with running_worker(bench.env, bench.app_id, bench.log):
        # Four failures, each delivered twice, and garbage between them: if a copy
        # counted, the third failure would already be the fifth error.
        for failure in failures[:4]:
            _send(bench, account, failure, failure)
        producer.send_raw(target.topic, account, b"\x00garbage")
        assert producer.flush(30) == 0
        kafka = {"bootstrap.servers": bench.stack.kafka}
        dead = read_topic(kafka, bench.names.dlq(ORDER_FAILED), 1)
    # A new worker: the four errors come back from the table's changelog.
    with running_worker(bench.env, bench.app_id, bench.log):
        _send(bench, account, failures[4], failures[4])
        reducing = _state(bench, f"account:{account}", lambda s: s["state"] == "REDUCING")
        transitions_topic = contract(ESS_TRANSITION, bench.names)
        raw = read_topic(kafka, transitions_topic.topic, 1, settle=3.0)

    transitions = [bench.serde.decode(transitions_topic, r.value) for r in raw]
    assert reducing["trigger"] == "EXECUTION_ERRORS"
    assert reducing["version"] == 1
    assert [(t["scope"], t["state"], t["cause_event_id"]) for t in transitions] == [
        (f"account:{account}", "REDUCING", failures[4]["envelope"]["event_id"])
    ]
    headers = dict(dead[0].headers or [])
    assert headers[dlq.SOURCE_TOPIC] == target.topic.encode()
    assert dead[0].value == b"\x00garbage"


def test_worker_when_keys_are_not_utf8_wrong_or_missing_then_dead_lettered_and_agent_goes_on(
    bench: Bench, producer: EventProducer
) -> None:
    """Issue 11.1: a key that is not UTF-8 crashed the agent and lost the record."""
    account = f"acc-{uuid.uuid4().hex[:6]}"
    target = contract(ORDER_FAILED, bench.names)
    kafka = {"bootstrap.servers": bench.stack.kafka}
    with running_worker(bench.env, bench.app_id, bench.log) as worker:
        bench.wait_policy(lambda _active: True)
        producer.send_raw(target.topic, b"\xff\xfe\xfd", b"garbage")
        producer.send_raw(
            target.topic, b"\xff\xfe\xfd", bench.serde.encode(target, _failure(account, "o-0"))
        )
        producer.send(target, "someone-else", _failure(account, "o-1"))
        producer.send(target, None, _failure(account, "o-2"))
        assert producer.flush(30) == 0
        _send(bench, account, *(_failure(account, f"order-{i}") for i in range(5)))
        reducing = _state(bench, f"account:{account}", lambda s: s["state"] == "REDUCING")
        dead = read_topic(kafka, bench.names.dlq(ORDER_FAILED), 4, settle=1.0)
        alive = worker.poll() is None

    assert alive
    assert "Crashed" not in bench.log.read_text()
    assert reducing["trigger"] == "EXECUTION_ERRORS"  # the four refused failures never counted
    letters = sorted(
        ((record.key, dlq.read(record.headers).error_type) for record in dead),
        key=lambda pair: (pair[0] is None, pair[0] or b""),
    )
    assert letters == [
        (b"someone-else", "InvalidKeyError"),
        (b"\xff\xfe\xfd", "InvalidKeyError"),
        (b"\xff\xfe\xfd", "InvalidKeyError"),
        (None, "InvalidKeyError"),
    ]
    assert {record.value for record in dead} >= {b"garbage"}  # original bytes kept
