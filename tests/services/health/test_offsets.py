"""Caught up and lag against the ends the broker reported (pure)."""

from __future__ import annotations

from services.health.offsets import compare


def test_compare_when_control_partition_read_to_end_then_not_behind() -> None:
    reading = compare({("ess.state", 0): 42}, {("ess.state", 0): 42}, [("ess.state", 0)])
    assert reading.behind == ()
    assert reading.lag == {"ess.state": 0}


def test_compare_when_control_partition_short_of_end_then_behind() -> None:
    reading = compare({("ess.state", 0): 42}, {("ess.state", 0): 40}, [("ess.state", 0)])
    assert reading.behind == (("ess.state", 0),)


def test_compare_when_nothing_read_of_nonempty_partition_then_behind_with_full_lag() -> None:
    reading = compare({("policy.updated", 0): 3}, {("policy.updated", 0): -1001}, [])
    assert reading.lag == {"policy.updated": 3}


def test_compare_when_partition_empty_then_never_behind() -> None:
    reading = compare({("ess.state", 0): 0}, {}, [("ess.state", 0)])
    assert reading.behind == ()


def test_compare_when_several_partitions_of_topic_then_lag_summed_per_topic() -> None:
    ends = {("trade.signal", 0): 10, ("trade.signal", 1): 20, ("market.price", 0): 5}
    positions = {("trade.signal", 0): 7, ("trade.signal", 1): 20, ("market.price", 0): 1}
    assert compare(ends, positions, []).lag == {"trade.signal": 3, "market.price": 4}


def test_compare_when_end_not_known_yet_then_no_lag_reported() -> None:
    assert compare({}, {("trade.signal", 0): 7}, []).lag == {}
