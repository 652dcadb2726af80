"""The transactional producer's commit: retried while retriable, given up when told to, and
a commit that hangs ends the process (no broker: librdkafka's producer answers through a
fake)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from services.bus import transactions
from services.bus.exceptions import TransactionStuckError
from services.bus.transactions import TransactionalProducer

_TIMED_OUT = KafkaException(KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True))


class _Commits:
    """commit_transaction fails with each of ``failures`` in turn, then succeeds."""

    def __init__(self, *failures: KafkaException, offsets: tuple[KafkaException, ...] = ()) -> None:
        self.failures = list(failures)
        self.offset_failures = list(offsets)
        self.calls = 0
        self.offset_calls = 0

    def send_offsets_to_transaction(self, *_args: Any) -> None:
        self.offset_calls += 1
        if self.offset_failures:
            raise self.offset_failures.pop(0)

    def commit_transaction(self, _timeout: float) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def _producer(
    commits: _Commits, on_stuck: Callable[[TransactionStuckError], object] | None = None
) -> TransactionalProducer:
    no_serde: Any = None
    producer = TransactionalProducer(
        {"bootstrap.servers": "127.0.0.1:1"}, no_serde, "tx-test", on_stuck=on_stuck
    )
    producer._producer = commits  # type: ignore[assignment]
    return producer


def test_commit_when_retriable_failures_then_retried_until_committed() -> None:
    commits = _Commits(_TIMED_OUT, _TIMED_OUT)

    _producer(commits).commit(None, None)

    assert commits.calls == 3  # two failures, then the commit


def test_commit_when_sending_offsets_meets_not_coordinator_then_retried_then_committed() -> None:
    """A restarted broker answers "Not coordinator" while it loads its coordinators: the
    executor used to end on it, seconds after the broker came back."""
    loading = KafkaException(
        KafkaError(KafkaError.NOT_COORDINATOR, "Not coordinator", retriable=True)
    )
    commits = _Commits(offsets=(loading, loading))

    _producer(commits).commit([TopicPartition("t", 0, 5)], None, give_up_seconds=60)

    assert (commits.offset_calls, commits.calls) == (3, 1)


def test_commit_when_retriable_past_give_up_then_stuck_error_names_the_transaction() -> None:
    commits = _Commits(_TIMED_OUT, _TIMED_OUT)

    with pytest.raises(TransactionStuckError, match="tx-test"):
        _producer(commits).commit(None, None, give_up_seconds=0)

    assert commits.calls == 1


def test_commit_when_not_retriable_then_raised_at_once() -> None:
    fenced = KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))
    commits = _Commits(fenced)

    with pytest.raises(KafkaException):
        _producer(commits).commit(None, None, give_up_seconds=60)

    assert commits.calls == 1


class _Hangs(_Commits):
    """commit_transaction that does not return (as librdkafka's was seen not to after a
    broker SIGKILL mid-transaction) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def commit_transaction(self, _timeout: float) -> None:
        self.calls += 1
        self.release.wait(10)


def test_commit_when_hung_past_give_up_then_on_stuck_ends_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transactions, "WATCHDOG_MARGIN_S", 0.05)
    stuck: list[TransactionStuckError] = []
    hangs = _Hangs()
    producer = _producer(hangs, on_stuck=lambda error: (stuck.append(error), hangs.release.set()))

    producer.commit(None, None, give_up_seconds=0.05)

    assert len(stuck) == 1
    assert "tx-test" in str(stuck[0])


def test_commit_when_committed_in_time_then_watchdog_never_fires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transactions, "WATCHDOG_MARGIN_S", 0.05)
    stuck: list[TransactionStuckError] = []
    producer = _producer(_Commits(), on_stuck=stuck.append)

    producer.commit(None, None, give_up_seconds=0.05)
    time.sleep(0.3)

    assert stuck == []
