"""Reading ``read_committed`` to the end on the real broker: a transaction still open (or
whose markers are still on their way) when the read begins is waited for — its records
delivered if it commits, skipped if it aborts — and one that never ends is named.

The raw producer here holds a transaction open on purpose: that is the window, a few
milliseconds wide in production, in which ``hfos recovery history`` once printed nothing
for three lines the journal had just committed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from services.bus.ends import log_ends, log_starts, read_to_ends
from services.bus.exceptions import EndNotReachedError
from services.testing import Servers

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


@pytest.fixture
def producer(stack: Servers) -> Iterator[Producer]:
    found = Producer(
        {"bootstrap.servers": stack.kafka, "transactional.id": f"ends-{uuid.uuid4().hex}"}
    )
    found.init_transactions(30)
    yield found
    found.flush(10)


@pytest.fixture
def consumer(stack: Servers) -> Iterator[Consumer]:
    found = Consumer(
        {
            "bootstrap.servers": stack.kafka,
            "group.id": f"ends-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
    )
    yield found
    found.close()


def _open_transaction(producer: Producer, topic: str, values: list[bytes]) -> None:
    producer.begin_transaction()
    for value in values:
        producer.produce(topic, value, key=b"k")
    producer.flush(30)  # on the broker, not yet committed


def _read(stack: Servers, consumer: Consumer, topic: str, seconds: float) -> list[bytes]:
    starts = [TopicPartition(topic, 0, OFFSET_BEGINNING)]
    ends = log_ends({"bootstrap.servers": stack.kafka}, starts)
    return [bytes(m.value() or b"") for m in read_to_ends(consumer, starts, ends, seconds)]


def test_read_when_a_transaction_commits_during_the_read_then_its_records_are_read(
    stack: Servers, topic: str, producer: Producer, consumer: Consumer
) -> None:
    _open_transaction(producer, topic, [b"one"])
    producer.commit_transaction(30)
    _open_transaction(producer, topic, [b"two", b"three"])
    commit = threading.Timer(1.0, producer.commit_transaction, (30,))
    commit.start()
    try:
        # The reader's end (the last stable offset) is before "two" when this begins: a
        # read stopping at its first end-of-partition returned ["one"].
        assert _read(stack, consumer, topic, 30) == [b"one", b"two", b"three"]
    finally:
        commit.join()


def test_read_when_a_transaction_aborts_during_the_read_then_it_ends_without_its_records(
    stack: Servers, topic: str, producer: Producer, consumer: Consumer
) -> None:
    _open_transaction(producer, topic, [b"aborted"])
    abort = threading.Timer(1.0, producer.abort_transaction, (30,))
    abort.start()
    try:
        assert _read(stack, consumer, topic, 30) == []
    finally:
        abort.join()


def test_read_when_a_transaction_stays_open_then_the_error_names_where_it_waits(
    stack: Servers, topic: str, producer: Producer, consumer: Consumer
) -> None:
    _open_transaction(producer, topic, [b"held", b"held"])
    try:
        with pytest.raises(EndNotReachedError, match=rf"{topic}\[0\] at 0 of 2.*still open"):
            _read(stack, consumer, topic, 3)
    finally:
        producer.abort_transaction(30)


def test_read_when_records_follow_the_start_then_they_are_not_waited_for(
    stack: Servers, topic: str, producer: Producer, consumer: Consumer
) -> None:
    _open_transaction(producer, topic, [b"before"])
    producer.commit_transaction(30)
    starts = [TopicPartition(topic, 0, OFFSET_BEGINNING)]
    ends = log_ends({"bootstrap.servers": stack.kafka}, starts)
    _open_transaction(producer, topic, [b"after"])  # open, and after the read's end
    try:
        read = [bytes(m.value() or b"") for m in read_to_ends(consumer, starts, ends, 10)]
    finally:
        producer.abort_transaction(30)
    assert read == [b"before"]


def test_start_when_records_await_their_markers_then_before_them_not_past_them(
    stack: Servers, topic: str, producer: Producer, consumer: Consumer
) -> None:
    """A read_committed consumer's offsets_for_times finds nothing below the last stable
    offset and the read started at the end, past lines about to commit (the second way
    `hfos recovery history` missed them, in CI)."""
    _open_transaction(producer, topic, [b"one", b"two"])
    config = {"bootstrap.servers": stack.kafka}
    try:
        [committed_view] = consumer.offsets_for_times([TopicPartition(topic, 0, 0)], 30)
        [start] = log_starts(config, [TopicPartition(topic, 0)], 0)
    finally:
        producer.commit_transaction(30)

    assert committed_view.offset < 0  # "none": what the history started from before
    assert start.offset == 0
    read = read_to_ends(consumer, [start], log_ends(config, [start]), 30)
    assert [bytes(m.value() or b"") for m in read] == [b"one", b"two"]
