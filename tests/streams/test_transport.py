"""The delivery loop's rule (streams.transport): no stream record fetched across a seek is
delivered, and any record fetched and not delivered, or delivered and then cleared from
the agents' queues, is read again from the committed offsets before the next fetch.

The loop's collaborators are Faust's consumer internals; these tests build the consumer
without Faust's start-up and give it only what ``_deliver`` reads. The stack tests that
caught the loss are tests/streams/test_worker_scale_out.py (three workers, a rebalance
mid-stream): before the rule, 2 runs in 4 ended with a partition idle and behind."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.consumer.fetcher import OffsetResetStrategy
from aiokafka.consumer.subscription_state import TopicPartitionState
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams.transport import _Consumer, _ConsumerThread

STREAM, CHANGELOG = "acc.account.updated", "acc.hfos-streams-accounts-changelog"


def _consumer() -> tuple[_Consumer, list[tuple[str, int]]]:
    delivered: list[tuple[str, int]] = []

    async def callback(message: Any) -> None:
        delivered.append((message.topic, message.offset))

    consumer = _Consumer.__new__(_Consumer)
    consumer._read_offset = defaultdict(lambda: None)
    consumer._commit_every = None
    consumer.callback = callback
    consumer.app = SimpleNamespace(  # type: ignore[assignment]
        topics=SimpleNamespace(acks_enabled_for=lambda _topic: True),
        tables=SimpleNamespace(changelog_topics={CHANGELOG}),
    )
    return consumer, delivered


def _batch(*records: tuple[str, int]) -> tuple[tuple[Any, Any], AsyncIterator[Any]]:
    items = [(TP(topic, 0), SimpleNamespace(topic=topic, offset=at)) for topic, at in records]

    async def rest() -> AsyncIterator[Any]:
        for item in items[1:]:
            yield item

    return items[0], rest()


def test_deliver_when_no_seek_intervened_then_every_record_in_order() -> None:
    consumer, delivered = _consumer()
    first, rest = _batch((STREAM, 5), (CHANGELOG, 9), (STREAM, 6))

    asyncio.run(consumer._deliver(consumer._seeks, first, rest))

    assert delivered == [(STREAM, 5), (CHANGELOG, 9), (STREAM, 6)]
    assert consumer._delivered
    assert not consumer._reread
    assert consumer._read_offset[TP(STREAM, 0)] == 6


def test_deliver_when_a_seek_began_after_the_fetch_then_changelog_only_and_reread() -> None:
    consumer, delivered = _consumer()
    fetched_at = consumer._seeks
    consumer._seeks += 1  # a seek began while the batch was in flight
    first, rest = _batch((STREAM, 5), (CHANGELOG, 9), (STREAM, 6))

    asyncio.run(consumer._deliver(fetched_at, first, rest))

    assert delivered == [(CHANGELOG, 9)]  # the recovery's records are never dropped
    assert consumer._reread
    assert consumer._read_offset[TP(STREAM, 0)] is None  # the seek's offsets stand


def test_queues_cleared_when_records_were_delivered_since_the_seek_then_reread() -> None:
    consumer, _ = _consumer()
    consumer._on_queues_cleared()
    assert not consumer._reread  # nothing handed over: nothing to read again

    first, rest = _batch((STREAM, 5))
    asyncio.run(consumer._deliver(consumer._seeks, first, rest))
    consumer._on_queues_cleared()

    assert consumer._reread


def _nothing_logged(now: float, tp: TP) -> bool:
    """aiokafka's own event path is fine (Faust's check goes on to the stream's)."""
    return not (now and tp)


def _thread(state: TopicPartitionState) -> _ConsumerThread:
    """A consumer thread whose one partition is in ``state``, with only what Faust's
    livelock check reads."""
    thread = _ConsumerThread.__new__(_ConsumerThread)
    assignment = SimpleNamespace(state_value=lambda _tp: state, active=True)
    subscriptions = SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_subscriptions=subscriptions))
    thread._ensure_consumer = lambda: consumer  # type: ignore[method-assign]
    thread._verify_aiokafka_event_path = _nothing_logged  # type: ignore[method-assign]
    thread.consumer = SimpleNamespace(  # type: ignore[assignment]
        app=SimpleNamespace(
            monitor=SimpleNamespace(stream_inbound_time={}),
            topics=SimpleNamespace(acks_enabled_for=lambda _topic: True),
        )
    )
    thread.time_started = 0.0
    thread.tp_stream_timeout_secs = 300.0
    return thread


def _sought_to_beginning() -> TopicPartitionState:
    """A partition fetched before (a highwater known) and then sought to its beginning:
    no position until the fetcher resets it."""
    state = TopicPartitionState(assignment=None)
    state.highwater = 40
    state.await_reset(OffsetResetStrategy.EARLIEST)
    return state


async def test_livelock_check_when_a_partition_awaits_its_reset_then_skipped_not_crashed() -> None:
    state = _sought_to_beginning()
    with pytest.raises(AssertionError):  # what Faust's own check does: it ended workers
        driver.AIOKafkaConsumerThread.verify_event_path(_thread(state), 1.0, TP(STREAM, 0))

    _thread(state).verify_event_path(1.0, TP(STREAM, 0))  # returns, raising nothing


async def test_livelock_check_when_the_partition_has_a_position_then_faust_checks_it() -> None:
    state = TopicPartitionState(assignment=None)
    state.highwater = 40
    state.reset_to(40)
    checked: list[TP] = []

    def verified(now: float, tp: TP) -> bool:
        checked.append(tp)
        return bool(now)  # "already logged": Faust's check ends here

    thread = _thread(state)
    thread._verify_aiokafka_event_path = verified  # type: ignore[method-assign]

    thread.verify_event_path(1.0, TP(STREAM, 0))

    assert checked == [TP(STREAM, 0)]


async def test_livelock_check_when_nothing_is_assigned_then_faust_reports_it() -> None:
    """No subscription (a consumer between assignments): Faust's own check says so."""
    checked: list[TP] = []

    def verified(now: float, tp: TP) -> bool:
        checked.append(tp)
        return bool(now)

    thread = _thread(TopicPartitionState(assignment=None))
    thread._ensure_consumer()._fetcher._subscriptions.subscription = None
    thread._verify_aiokafka_event_path = verified  # type: ignore[method-assign]

    thread.verify_event_path(1.0, TP(STREAM, 0))

    assert checked == [TP(STREAM, 0)]
