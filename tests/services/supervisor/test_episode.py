"""One subsystem's failure episodes, step by step, on a fake clock: detection, scheduled
attempts, their verdicts, exhaustion, the stable period, platform restarts and escalation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from schemas.enums import EssState, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from services.supervisor import (
    Context,
    Episode,
    EpisodeRulesError,
    Line,
    Rules,
    Step,
    attempt_failed,
    observe_failure,
    observe_healthy,
    restart_observed,
    tick,
)
from streams.testing import START, ScriptedRandom

R = RecoveryOutcome
NO_JITTER = ScriptedRandom([0.0])
REDIS = Rules("redis", attempt_timeout_ms=10_000, stable_ms=60_000)
WORKER = Rules("service:hfos-streams", critical=True, attempt_timeout_ms=5_000)


def at(ms: int, target: EssState = EssState.REDUCING) -> Context:
    return Context(START + ms, NO_JITTER, lambda: target)


def outcomes(step: Step) -> list[tuple[RecoveryOutcome, int]]:
    return [(line.outcome, line.attempt) for line in step.lines]


def failing(rules: Rules = REDIS, ms: int = 0) -> Step:
    return observe_failure(Episode(rules.subsystem), rules, at(ms), "connection refused")


def fail_every_attempt(rules: Rules, state: Episode, ms: int) -> tuple[Episode, int, list[Step]]:
    """Let each scheduled attempt start and fail at once until none is scheduled."""
    steps = []
    while state.phase is Phase.WAITING and state.due_at is not None:
        ms = state.due_at - START
        started = tick(state, rules, at(ms))
        failed = attempt_failed(started.state, rules, at(ms), started.state.attempt, "exit 1")
        steps += [started, failed]
        state = failed.state
    return state, ms, steps


def test_failure_when_healthy_then_episode_one_opens_and_attempt_one_is_due_in_1s() -> None:
    step = failing()
    assert outcomes(step) == [(R.FAILURE_DETECTED, 0), (R.ATTEMPT_SCHEDULED, 1)]
    assert step.lines[1].delay_ms == 1000
    assert (step.state.phase, step.state.episode, step.state.due_at) == (
        Phase.WAITING,
        1,
        START + 1000,
    )


def test_tick_when_attempt_due_then_started_and_the_edge_is_told() -> None:
    waiting = failing().state
    early = tick(waiting, REDIS, at(999))
    due = tick(waiting, REDIS, at(1000))
    assert (early.lines, early.start_attempt) == ((), None)
    assert outcomes(due) == [(R.ATTEMPT_STARTED, 1)]
    assert due.start_attempt == 1
    assert (due.state.phase, due.state.total_attempts) == (Phase.ATTEMPTING, 1)


def test_tick_when_action_cannot_start_yet_then_attempt_waits_without_counting() -> None:
    """A process that is still alive is never killed: the due attempt waits for it."""
    waiting = failing().state
    held = tick(waiting, REDIS, at(5_000), may_start=False)
    assert (held.state, held.lines) == (waiting, ())


def test_healthy_when_attempting_then_succeeded_but_episode_open_until_stable() -> None:
    started = tick(failing().state, REDIS, at(1000)).state
    back = observe_healthy(started, at(1500))
    assert outcomes(back) == [(R.ATTEMPT_SUCCEEDED, 1)]
    assert back.state.phase is Phase.STABILIZING
    assert tick(back.state, REDIS, at(61_499)).lines == ()
    done = tick(back.state, REDIS, at(61_500))
    assert outcomes(done) == [(R.RECOVERED, 1)]
    assert (done.state.phase, done.state.attempt, done.state.episode) == (Phase.HEALTHY, 0, 1)


def test_attempt_window_when_passed_then_failed_and_next_scheduled_with_double_delay() -> None:
    started = tick(failing().state, REDIS, at(1000)).state
    assert tick(started, REDIS, at(10_999)).lines == ()
    timed_out = tick(started, REDIS, at(11_000))
    assert outcomes(timed_out) == [(R.ATTEMPT_FAILED, 1), (R.ATTEMPT_SCHEDULED, 2)]
    assert timed_out.lines[0].error == "not healthy within 10 s: connection refused"
    assert timed_out.lines[1].delay_ms == 2000
    assert timed_out.state.due_at == START + 13_000


def test_attempts_when_all_fail_then_delays_1_2_4_8_16_and_exhausted_after_five() -> None:
    state, _, steps = fail_every_attempt(REDIS, failing().state, 0)
    scheduled = [
        line for step in steps for line in step.lines if line.outcome is R.ATTEMPT_SCHEDULED
    ]
    assert [line.delay_ms for line in scheduled] == [2000, 4000, 8000, 16_000]
    assert outcomes(steps[-1])[-1] == (R.EXHAUSTED, 5)
    assert (state.phase, state.attempt, state.total_attempts) == (Phase.EXHAUSTED, 5, 5)
    assert steps[-1].escalation is None  # redis is not critical


def test_exhausted_when_more_failures_and_time_then_no_attempt_and_no_reset() -> None:
    state, ms, _ = fail_every_attempt(REDIS, failing().state, 0)
    again = observe_failure(state, REDIS, at(ms + 1), "still refused")
    later = tick(again.state, REDIS, at(ms + 3_600_000))
    assert (again.lines, later.lines, later.start_attempt) == ((), (), None)
    assert (later.state.phase, later.state.attempt, later.state.episode) == (Phase.EXHAUSTED, 5, 1)


def test_exhausted_when_fixed_and_stable_then_recovered_and_next_failure_is_episode_two() -> None:
    state, ms, _ = fail_every_attempt(REDIS, failing().state, 0)
    back = observe_healthy(state, at(ms + 1000))
    assert outcomes(back) == [(R.HEALTHY_AGAIN, 5)]
    recovered = tick(back.state, REDIS, at(ms + 61_000)).state
    reopened = observe_failure(recovered, REDIS, at(ms + 62_000), "refused")
    assert (reopened.state.episode, reopened.state.attempt, reopened.state.total_attempts) == (
        2,
        0,
        5,
    )
    assert outcomes(reopened) == [(R.FAILURE_DETECTED, 0), (R.ATTEMPT_SCHEDULED, 1)]


def test_relapse_when_within_stable_period_then_same_episode_and_count_goes_on() -> None:
    started = tick(failing().state, REDIS, at(1000)).state
    stabilizing = observe_healthy(started, at(2000)).state
    relapse = observe_failure(stabilizing, REDIS, at(30_000), "refused again")
    assert outcomes(relapse) == [(R.FAILURE_DETECTED, 1), (R.ATTEMPT_SCHEDULED, 2)]
    assert (relapse.state.episode, relapse.lines[1].delay_ms) == (1, 2000)


def test_relapse_when_already_exhausted_then_exhausted_again_without_attempt() -> None:
    state, ms, _ = fail_every_attempt(REDIS, failing().state, 0)
    stabilizing = observe_healthy(state, at(ms + 1)).state
    relapse = observe_failure(stabilizing, REDIS, at(ms + 2), "down again")
    assert outcomes(relapse) == [(R.FAILURE_DETECTED, 5)]
    assert relapse.state.phase is Phase.EXHAUSTED


def test_healthy_when_evidence_older_than_the_attempt_then_attempt_not_judged() -> None:
    """The killed process's last heartbeat is still fresh when its restart begins: it
    says nothing about the new process."""
    started = tick(failing().state, REDIS, at(1000)).state
    stale = observe_healthy(started, at(1500), as_of=START + 900)
    fresh = observe_healthy(started, at(1600), as_of=START + 1000)
    assert (stale.lines, stale.state) == ((), started)
    assert outcomes(fresh) == [(R.ATTEMPT_SUCCEEDED, 1)]


def test_healthy_when_evidence_older_than_the_failure_then_nothing_changes() -> None:
    waiting = failing(ms=5_000).state
    assert observe_healthy(waiting, at(5_100), as_of=START + 4_000).state == waiting


def test_healthy_when_waiting_then_scheduled_attempt_is_not_made() -> None:
    back = observe_healthy(failing().state, at(500))
    assert outcomes(back) == [(R.HEALTHY_AGAIN, 0)]
    assert tick(back.state, REDIS, at(1000)).start_attempt is None


def test_critical_when_exhausted_then_one_escalation_with_the_policy_target() -> None:
    opened = failing(WORKER)
    state, ms, steps = fail_every_attempt(WORKER, opened.state, 0)
    escalations = [step.escalation for step in steps if step.escalation]
    assert len(escalations) == 1
    [escalation] = escalations
    assert (escalation.target, escalation.episode, escalation.opened_at) == (
        EssState.REDUCING,
        1,
        START,
    )
    assert outcomes(steps[-1])[-2:] == [(R.EXHAUSTED, 5), (R.ESCALATED, 5)]
    assert steps[-1].lines[-1].escalated_to is EssState.REDUCING
    assert state.escalated
    later = tick(state, WORKER, at(ms + 600_000))
    assert later.escalation is None


def test_critical_when_policy_names_tripped_then_escalation_asks_for_tripped() -> None:
    rules = replace(WORKER, escalate_after_ms=1_000)
    step = tick(failing(rules).state, rules, at(1_000, EssState.TRIPPED), may_start=False)
    assert step.escalation is not None
    assert step.escalation.target is EssState.TRIPPED
    assert step.lines[-1].escalated_to is EssState.TRIPPED


def test_critical_when_failing_past_its_bound_then_escalates_once_before_exhaustion() -> None:
    rules = replace(WORKER, escalate_after_ms=20_000)
    started = tick(failing(rules).state, rules, at(1000)).state
    assert tick(started, rules, at(4_000)).escalation is None
    silent = tick(started, rules, at(20_000))
    assert silent.escalation is not None
    assert "failing for more than 20 s" in silent.escalation.reason
    assert silent.state.attempt == 1  # attempts left: the silence alone escalated
    assert tick(silent.state, rules, at(21_000)).escalation is None


def test_platform_when_restart_seen_then_counted_as_attempt_with_observed_delay() -> None:
    rules = replace(WORKER, schedules=False)
    opened = failing(rules)
    assert outcomes(opened) == [(R.FAILURE_DETECTED, 0)]  # nothing scheduled: not ours
    restarted = restart_observed(opened.state, rules, at(7_000))
    assert outcomes(restarted) == [(R.ATTEMPT_STARTED, 1)]
    assert restarted.lines[0].delay_ms == 7_000
    assert restarted.start_attempt == 1  # the edge starts nothing for a platform unit
    again = restart_observed(restarted.state, rules, at(9_000))
    assert outcomes(again) == [(R.ATTEMPT_FAILED, 1), (R.ATTEMPT_STARTED, 2)]


def test_platform_when_restarts_keep_coming_then_at_most_five_attempts() -> None:
    rules = replace(WORKER, schedules=False)
    state = failing(rules).state
    lines: list[Line] = []
    for n in range(1, 10):
        step = restart_observed(state, rules, at(n * 1000))
        state, lines = step.state, lines + list(step.lines)
    started = [line.attempt for line in lines if line.outcome is R.ATTEMPT_STARTED]
    assert started == [1, 2, 3, 4, 5]
    assert state.phase is Phase.EXHAUSTED


def test_platform_restart_when_healthy_then_no_episode() -> None:
    rules = replace(WORKER, schedules=False)
    step = restart_observed(Episode(rules.subsystem), rules, at(0))
    assert (step.lines, step.state.episode) == ((), 0)


def test_late_report_when_attempt_already_judged_then_ignored() -> None:
    started = tick(failing().state, REDIS, at(1000)).state
    back = observe_healthy(started, at(1100)).state
    assert attempt_failed(back, REDIS, at(1200), 1, "exited").lines == ()


def test_lines_when_written_then_numbered_one_after_another() -> None:
    _, _, steps = fail_every_attempt(REDIS, failing().state, 0)
    numbers = [line.sequence for step in [failing(), *steps] for line in step.lines]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("subsystem", {"subsystem": " "}),
        ("attempt_timeout_ms", {"attempt_timeout_ms": 0}),
        ("stable_ms", {"stable_ms": -1}),
        ("escalate_after_ms", {"escalate_after_ms": 0}),
    ],
)
def test_rules_when_out_of_range_then_refused_naming_the_field(
    field: str, changes: dict[str, object]
) -> None:
    with pytest.raises(EpisodeRulesError) as raised:
        replace(REDIS, **changes)  # type: ignore[arg-type]
    assert raised.value.field == field
