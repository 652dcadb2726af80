"""The supervisor's backoff: 1, 2, 4, 8, 16 s with up to 10 % jitter, 5 attempts an
episode, counters never silently reset. Driven by a scripted random source; no sleeping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import RecoveryOutcome
from services.supervisor import (
    BackoffConfigError,
    BackoffPolicy,
    Exhausted,
    Phase,
    RandomSourceError,
    Retry,
    Supervision,
    on_failure,
    on_success,
)
from streams.testing import START, ScriptedRandom

NO_JITTER = ScriptedRandom([0.0])


def fail_times(
    count: int, state: Supervision | None = None, source: ScriptedRandom = NO_JITTER
) -> tuple[Supervision, list[Retry | Exhausted]]:
    current = state or Supervision("kafka")
    steps: list[Retry | Exhausted] = []
    for _ in range(count):
        current, step = on_failure(current, START, source)
        steps.append(step)
    return current, steps


def test_failures_when_no_jitter_then_delays_double_from_one_second() -> None:
    _, steps = fail_times(5)
    assert [step.delay_seconds for step in steps if isinstance(step, Retry)] == [1, 2, 4, 8, 16]
    assert [step.attempt for step in steps if isinstance(step, Retry)] == [1, 2, 3, 4, 5]


def test_retry_when_scheduled_then_due_time_is_now_plus_delay() -> None:
    _, (first,) = fail_times(1)
    assert isinstance(first, Retry)
    assert first.due_at == START + 1000


def test_jitter_when_random_near_one_then_delay_stretched_by_under_ten_percent() -> None:
    _, steps = fail_times(5, source=ScriptedRandom([0.999999]))
    delays = [step.delay_seconds for step in steps if isinstance(step, Retry)]
    for delay, base in zip(delays, [1, 2, 4, 8, 16], strict=True):
        assert base < delay < base * 1.1


def test_jitter_when_random_is_half_then_five_percent_longer() -> None:
    _, (first,) = fail_times(1, source=ScriptedRandom([0.5]))
    assert isinstance(first, Retry)
    assert first.delay_seconds == pytest.approx(1.05)


def test_sixth_failure_when_five_attempts_used_then_exhausted_once() -> None:
    state, steps = fail_times(7)
    assert state.phase is Phase.EXHAUSTED
    assert steps[5] == Exhausted("kafka", 1, 5, newly=True)
    assert steps[6] == Exhausted("kafka", 1, 5, newly=False)
    assert steps[5].outcomes == (RecoveryOutcome.ATTEMPT_FAILED, RecoveryOutcome.EXHAUSTED)
    assert steps[6].outcomes == ()


def test_exhausted_when_more_failures_then_no_new_attempt_and_counters_kept() -> None:
    state, _ = fail_times(20)
    assert (state.phase, state.attempts, state.total_attempts, state.episode) == (
        Phase.EXHAUSTED,
        5,
        5,
        1,
    )


def test_success_when_recovering_then_episode_ends_and_next_failure_opens_new_one() -> None:
    state, _ = fail_times(3)
    healthy = on_success(state)
    assert (healthy.phase, healthy.attempts, healthy.total_attempts) == (Phase.HEALTHY, 0, 3)
    state, (retry,) = fail_times(1, healthy)
    assert isinstance(retry, Retry)
    assert (retry.episode, retry.attempt, retry.delay_seconds) == (2, 1, 1.0)
    assert state.total_attempts == 4


def test_success_when_exhausted_then_healthy_with_history_kept() -> None:
    state, _ = fail_times(6)
    healthy = on_success(state)
    assert (healthy.phase, healthy.episode, healthy.total_attempts) == (Phase.HEALTHY, 1, 5)


def test_success_when_already_healthy_then_nothing_changes() -> None:
    state = Supervision("redis", episode=3, total_attempts=9)
    assert on_success(state) is state


def test_outcomes_when_episode_starts_then_failure_detected_then_scheduled() -> None:
    _, steps = fail_times(2)
    assert steps[0].outcomes == (
        RecoveryOutcome.FAILURE_DETECTED,
        RecoveryOutcome.ATTEMPT_SCHEDULED,
    )
    assert steps[1].outcomes == (RecoveryOutcome.ATTEMPT_FAILED, RecoveryOutcome.ATTEMPT_SCHEDULED)


@pytest.mark.parametrize("draw", [1.0, -0.1, math.nan])
def test_random_source_when_out_of_range_then_refused(draw: float) -> None:
    with pytest.raises(RandomSourceError):
        on_failure(Supervision("kafka"), START, ScriptedRandom([draw]))


@pytest.mark.parametrize(
    ("field", "settings_"),
    [("delays", {"delays": ()}), ("delays", {"delays": (1.0, -2.0)}), ("jitter", {"jitter": 2.0})],
)
def test_policy_when_invalid_then_refused_naming_the_setting(
    field: str, settings_: dict[str, object]
) -> None:
    with pytest.raises(BackoffConfigError) as raised:
        BackoffPolicy(**settings_)  # type: ignore[arg-type]
    assert raised.value.field == field


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["fail", "fail", "fail", "success"]), max_size=40),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5),
)
def test_counters_when_any_history_then_never_silently_reset(
    events: list[str], draws: list[float]
) -> None:
    """Episodes and total attempts only grow; attempts stay within 5 and drop only on success."""
    source = ScriptedRandom(draws)
    state = Supervision("kafka")
    for event in events:
        before = state
        if event == "success":
            state = on_success(state)
        else:
            state, step = on_failure(state, START, source)
            if isinstance(step, Retry):
                assert step.delay_seconds <= 16 * 1.1  # "up to" 10 %: u near 1 rounds to it
        assert state.episode >= before.episode
        assert state.total_attempts >= before.total_attempts
        assert 0 <= state.attempts <= 5
        if state.attempts < before.attempts:
            assert event == "success"
