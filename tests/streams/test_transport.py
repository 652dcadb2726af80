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

from faust.types import TP

from streams.transport import _Consumer

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
