"""The transactional producer's commit: retried while retriable, given up when told to (no
broker: librdkafka's producer answers through a fake)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from services.bus.exceptions import TransactionStuckError
from services.bus.transactions import TransactionalProducer

_TIMED_OUT = KafkaException(KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True))


class _Commits:
    """commit_transaction fails with each of ``failures`` in turn, then succeeds."""

    def __init__(self, *failures: KafkaException) -> None:
        self.failures = list(failures)
        self.calls = 0

    def send_offsets_to_transaction(self, *_args: Any) -> None: ...

    def commit_transaction(self, _timeout: float) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def _producer(commits: _Commits) -> TransactionalProducer:
    producer = TransactionalProducer(
        {"bootstrap.servers": "127.0.0.1:1"},
        None,
        "tx-test",  # type: ignore[arg-type]
    )
    producer._producer = commits  # type: ignore[assignment]
    return producer


def test_commit_when_retriable_failures_then_retried_until_committed() -> None:
    commits = _Commits(_TIMED_OUT, _TIMED_OUT)

    _producer(commits).commit(None, None)

    assert commits.calls == 3  # two failures, then the commit


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
