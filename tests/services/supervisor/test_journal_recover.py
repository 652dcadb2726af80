"""The journal after a failed transaction, without a broker: a fence stops it, any other
fatal producer error only replaces the producer."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException

from schemas.catalogue import TopicNames
from services.supervisor.journal import KafkaJournal


def _journal() -> KafkaJournal:
    no_serde: Any = None
    return KafkaJournal({"bootstrap.servers": "127.0.0.1:1"}, no_serde, TopicNames("t."))


def _fatal(code: int) -> KafkaException:
    return KafkaException(KafkaError(code, "fatal", fatal=True))


def test_recover_when_fenced_by_another_supervisor_then_stops_fenced() -> None:
    journal = _journal()

    retry = journal._recover(_fatal(KafkaError.PRODUCER_FENCED))

    assert retry is False
    assert journal.fenced() is not None


def test_recover_when_fatal_invalid_txn_state_then_renews_the_producer_and_retries() -> None:
    """After the broker's SIGKILL mid-transaction: not a fence, the supervisor goes on."""
    journal = _journal()

    retry = journal._recover(_fatal(KafkaError.INVALID_TXN_STATE))

    assert retry is True
    assert journal.fenced() is None
    assert journal._renew is True
