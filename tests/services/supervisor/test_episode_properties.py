"""Properties of the episode core over random failure/success/time sequences (SPEC §7):
delays are 1, 2, 4, 8, 16 s + at most 10 %, no episode ever has more than 5 attempts, an
episode number never repeats, counters never go back, and a critical episode escalates
exactly once when it exhausts its attempts (never for a non-critical one)."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import EssState, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from services.supervisor import (
    Context,
    Episode,
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
BASES_MS = (1000, 2000, 4000, 8000, 16_000)

rules_strategy = st.builds(
    Rules,
    subsystem=st.just("sub"),
    critical=st.booleans(),
    schedules=st.booleans(),
    attempt_timeout_ms=st.integers(100, 30_000),
    escalate_after_ms=st.one_of(st.none(), st.integers(1_000, 120_000)),
    stable_ms=st.integers(1_000, 60_000),
)
failure_events = st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 40_000), st.booleans()),
    st.tuples(st.just("advance"), st.integers(0, 40_000), st.just(value=True)),
    st.tuples(st.just("attempt_failed")),
    st.tuples(st.just("failing")),
    st.tuples(st.just("restart")),
)
any_events = st.one_of(
    failure_events,
    st.tuples(st.just("healthy"), st.one_of(st.none(), st.integers(0, 60_000))),
)
# Half the histories never see the subsystem healthy: those reach deep into an episode
# (five attempts, exhaustion, escalation) instead of ending at the first success.
event_lists = st.one_of(
    st.lists(failure_events, min_size=40, max_size=80),
    st.lists(any_events, min_size=0, max_size=120),
)


@dataclass
class Run:
    """Every step of one random history, with what the invariants need."""

    rules: Rules
    state: Episode
    steps: list[Step] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    exhausted: set[int] = field(default_factory=set)


def play(rules: Rules, events: list[tuple[object, ...]], draws: list[float]) -> Run:
    source = ScriptedRandom(draws)
    run = Run(rules, Episode(rules.subsystem))
    now = START
    for item in events:
        kind = item[0]
        target = EssState.TRIPPED if len(run.steps) % 2 else EssState.REDUCING
        ctx = Context(now, source, functools.partial(_same, target))
        before = run.state
        if kind == "advance":
            now += int(item[1])  # type: ignore[call-overload]
            later = Context(now, source, ctx.escalation_state)
            step = tick(before, rules, later, may_start=bool(item[2]))
        elif kind == "healthy":
            age = item[1]  # how old the evidence is (None: now)
            as_of = None if age is None else now - int(age)  # type: ignore[call-overload]
            step = observe_healthy(before, ctx, as_of)
        elif kind == "failing":
            step = observe_failure(before, rules, ctx, "down")
        elif kind == "attempt_failed":
            step = attempt_failed(before, rules, ctx, before.attempt, "exit 1")
        else:
            step = restart_observed(before, rules, ctx)
        check_step(before, step, rules)
        if before.phase is Phase.HEALTHY and step.state.phase is not Phase.HEALTHY:
            run.opened.append(step.state.episode)
        if step.state.phase is Phase.EXHAUSTED:
            run.exhausted.add(step.state.episode)
        run.steps.append(step)
        run.state = step.state
    return run


def _same(state: EssState) -> EssState:
    return state


def check_step(before: Episode, step: Step, rules: Rules) -> None:
    after = step.state
    assert after.episode >= before.episode
    assert after.total_attempts >= before.total_attempts
    assert 0 <= after.attempt <= rules.max_attempts
    assert after.sequence == before.sequence + len(step.lines)
    assert [line.sequence for line in step.lines] == list(
        range(before.sequence + 1, after.sequence + 1)
    )
    escalated = [line for line in step.lines if line.outcome is R.ESCALATED]
    assert len(escalated) == (step.escalation is not None)


def lines(run: Run) -> list[Line]:
    return [line for step in run.steps for line in step.lines]


settings_ = settings(max_examples=200, deadline=None)
histories = given(
    rules_strategy,
    event_lists,
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=8),
)


@settings_
@histories
def test_delays_when_any_history_then_base_schedule_plus_at_most_ten_percent(
    rules: Rules, events: list[tuple[object, ...]], draws: list[float]
) -> None:
    for line in lines(play(rules, events, draws)):
        if line.outcome is R.ATTEMPT_SCHEDULED:
            base = BASES_MS[line.attempt - 1]
            assert base <= line.delay_ms <= round(base * 1.1)


@settings_
@histories
def test_attempts_when_any_history_then_never_more_than_five_per_episode(
    rules: Rules, events: list[tuple[object, ...]], draws: list[float]
) -> None:
    started: dict[int, list[int]] = {}
    for line in lines(play(rules, events, draws)):
        assert 0 <= line.attempt <= 5
        if line.outcome is R.ATTEMPT_STARTED:
            started.setdefault(line.episode, []).append(line.attempt)
    for attempts in started.values():
        assert attempts == list(range(1, len(attempts) + 1))
        assert len(attempts) <= 5


@settings_
@histories
def test_episodes_when_any_history_then_a_number_never_repeats(
    rules: Rules, events: list[tuple[object, ...]], draws: list[float]
) -> None:
    run = play(rules, events, draws)
    assert len(run.opened) == len(set(run.opened))
    assert run.opened == sorted(run.opened)
    episodes = [line.episode for line in lines(run)]
    assert episodes == sorted(episodes)


@settings_
@histories
def test_escalation_when_any_history_then_exactly_once_per_exhausted_critical_episode(
    rules: Rules, events: list[tuple[object, ...]], draws: list[float]
) -> None:
    run = play(rules, events, draws)
    escalations = Counter(step.escalation.episode for step in run.steps if step.escalation)
    assert all(count == 1 for count in escalations.values())
    if not rules.critical:
        assert not escalations
        return
    assert run.exhausted <= set(escalations)
    if rules.escalate_after_ms is None:
        assert set(escalations) == run.exhausted


@settings_
@histories
def test_counters_when_any_history_then_only_a_stable_recovery_ends_an_episode(
    rules: Rules, events: list[tuple[object, ...]], draws: list[float]
) -> None:
    """The attempt count drops to 0 only on RECOVERED, after the stable period."""
    run = play(rules, events, draws)
    before = Episode(rules.subsystem)
    for step in run.steps:
        if step.state.attempt < before.attempt:
            assert [line.outcome for line in step.lines][-1] is R.RECOVERED
            assert before.healthy_since is not None
            assert step.lines[-1].at - before.healthy_since >= rules.stable_ms
        before = step.state
