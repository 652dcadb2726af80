"""The public testing helpers behave as the tests that use them assume."""

from __future__ import annotations

import pytest

from streams.testing import START, FakeClock, ScriptedRandom, next_id, policy


def test_clock_when_advanced_then_moves_by_seconds_and_millis() -> None:
    clock = FakeClock()
    assert clock.now() == START
    assert clock.advance(1.5, ms=2) == START + 1502
    assert clock.now() == START + 1502


def test_clock_when_asked_to_go_back_then_refused() -> None:
    with pytest.raises(ValueError, match="backwards"):
        FakeClock().advance(-1)


def test_start_when_read_then_is_a_utc_midnight() -> None:
    assert START % 86_400_000 == 0


def test_scripted_random_when_exhausted_then_cycles() -> None:
    source = ScriptedRandom([0.1, 0.2])
    assert [source.random() for _ in range(3)] == [0.1, 0.2, 0.1]


def test_next_id_when_called_twice_then_distinct() -> None:
    assert next_id() != next_id()


def test_policy_when_built_then_valid_version_with_changes() -> None:
    built = policy(changes={"max_leverage": 2.0}, version=3)
    assert (built.version, built.values.max_leverage) == (3, 2.0)
