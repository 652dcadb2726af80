"""The executor's barrier rule: when a state partition counts as read to its end."""

from __future__ import annotations

from confluent_kafka import OFFSET_INVALID, TopicPartition

from services.executor.service import unread

BEAT = ("p.system.heartbeat", 0)
POLICY = ("p.policy.updated", 0)


def test_unread_when_assigned_at_the_end_and_nothing_new_then_read_by_its_end_event() -> None:
    """The heartbeat partition, assigned at its end just after the executor's own first
    heartbeat landed: nothing to consume, so no position - but it reported its end at 1."""
    positions = [TopicPartition(*BEAT, OFFSET_INVALID)]

    assert unread(positions, {BEAT: 1}, {BEAT: 1}) == []
    assert unread(positions, {}, {BEAT: 1}) == positions  # no end reported yet: behind


def test_unread_when_records_follow_the_reported_end_then_behind_until_consumed() -> None:
    consumed_to_3 = [TopicPartition(*POLICY, 3)]
    assert unread(consumed_to_3, {POLICY: 3}, {POLICY: 5}) == consumed_to_3
    assert unread([TopicPartition(*POLICY, 5)], {POLICY: 3}, {POLICY: 5}) == []


def test_unread_when_the_end_event_is_short_of_the_end_then_behind() -> None:
    """A read_committed end (the last stable offset) before the log end: a transaction
    still open there is waited for."""
    assert unread([TopicPartition(*POLICY, OFFSET_INVALID)], {POLICY: 4}, {POLICY: 6})


def test_unread_when_a_partition_is_empty_then_never_behind() -> None:
    assert unread([TopicPartition(*POLICY, OFFSET_INVALID)], {}, {POLICY: 0}) == []
