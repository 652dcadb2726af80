"""Properties of the breaker over arbitrary event sequences: redelivery is harmless, one
trigger per episode, and the high-water mark only moves up unless an operator rebases it."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.drawdown import (
    DAY_MS,
    AccountState,
    BalanceUpdated,
    BreachTriggered,
    DrawdownEvent,
    Effect,
    EpisodeReset,
    PositionClosed,
    PositionUpdated,
    Reset,
    Thresholds,
    observe,
)
from streams.testing import START, thresholds

SETTINGS = settings(max_examples=150, deadline=None)
SYMBOLS = ("BTC", "ETH")
money = st.floats(min_value=-2000, max_value=5000, allow_nan=False)


@dataclass(frozen=True)
class Step:
    kind: str
    amount: float
    symbol: str
    episode: int
    rebase: bool
    gap_ms: int


steps = st.builds(
    Step,
    kind=st.sampled_from(["balance", "balance_equity", "position", "close", "reset"]),
    amount=money,
    symbol=st.sampled_from(SYMBOLS),
    episode=st.integers(1, 3),
    rebase=st.booleans(),
    gap_ms=st.sampled_from([0, 1_000, 3_600_000, DAY_MS]),
)
limits = st.builds(
    lambda confirmations, drawdown, daily: thresholds(
        changes={
            "breach_confirmations": confirmations,
            "max_drawdown": drawdown,
            "max_daily_loss": daily,
        }
    ),
    st.integers(1, 3),
    st.sampled_from([0.05, 0.10, 0.5]),
    st.sampled_from([0.03, 0.05, 0.5]),
)


def to_events(script: list[Step], *, resets: bool = True) -> list[DrawdownEvent]:
    events: list[DrawdownEvent] = []
    at = START
    for index, step in enumerate(script):
        at += step.gap_ms
        event_id = f"e{index}"
        if step.kind == "balance":
            events.append(BalanceUpdated(event_id, at, "acc", step.amount))
        elif step.kind == "balance_equity":
            events.append(BalanceUpdated(event_id, at, "acc", step.amount, step.amount - 10))
        elif step.kind == "position":
            events.append(PositionUpdated(event_id, at, "acc", step.symbol, step.amount / 10))
        elif step.kind == "close":
            events.append(PositionClosed(event_id, at, "acc", step.symbol, step.amount / 10))
        elif resets:
            events.append(Reset(event_id, at, "acc", step.episode, "op", "why", step.rebase))
    return events


def run(events: list[DrawdownEvent], policy: Thresholds) -> tuple[AccountState, list[Effect]]:
    state = AccountState("acc")
    effects: list[Effect] = []
    for event in events:
        state, produced = observe(state, event, policy, event.event_time)
        effects.extend(produced)
    return state, effects


@SETTINGS
@given(st.lists(steps, max_size=30), limits, st.data())
def test_redelivery_when_a_prefix_is_fed_again_then_same_effects_and_state(
    script: list[Step], policy: Thresholds, data: st.DataObject
) -> None:
    """Replaying any prefix after the whole sequence adds no effect and changes no state."""
    events = to_events(script)
    prefix = data.draw(st.integers(0, len(events)))
    once = run(events, policy)
    assert run(events + events[:prefix], policy) == once


@SETTINGS
@given(st.lists(steps, max_size=30), limits, st.data())
def test_redelivery_when_crash_rewinds_to_an_earlier_offset_then_same_as_once(
    script: list[Step], policy: Thresholds, data: st.DataObject
) -> None:
    """Processing up to k, then restarting from an earlier offset j, equals one pass."""
    events = to_events(script)
    crashed_at = data.draw(st.integers(0, len(events)))
    resumed_from = data.draw(st.integers(0, crashed_at))
    replayed = events[:crashed_at] + events[resumed_from:]
    assert run(replayed, policy) == run(events, policy)


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_triggers_when_no_reset_then_at_most_one(script: list[Step], policy: Thresholds) -> None:
    """Without a reset an account trips at most once, whatever equity does."""
    _, effects = run(to_events(script, resets=False), policy)
    assert sum(isinstance(effect, BreachTriggered) for effect in effects) <= 1


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_triggers_when_resets_then_one_per_episode_at_most(
    script: list[Step], policy: Thresholds
) -> None:
    """Every trigger belongs to a different episode, and its id says which."""
    _, effects = run(to_events(script), policy)
    fired = [effect for effect in effects if isinstance(effect, BreachTriggered)]
    assert len({trigger.episode for trigger in fired}) == len(fired)
    assert all(trigger.breach_id.endswith(f":{trigger.episode}") for trigger in fired)


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_peak_when_any_sequence_then_never_decreases_except_by_rebase(
    script: list[Step], policy: Thresholds
) -> None:
    """The high-water mark only falls on a reset that asked to rebase it."""
    state = AccountState("acc")
    for event in to_events(script):
        before = state.peak_equity
        state, effects = observe(state, event, policy, event.event_time)
        rebased = any(isinstance(e, EpisodeReset) and e.rebased_peak is not None for e in effects)
        if before is not None and not rebased:
            assert state.peak_equity is not None
            assert state.peak_equity >= before


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_latch_when_any_sequence_then_only_a_reset_unlatches(
    script: list[Step], policy: Thresholds
) -> None:
    """A latched account stays latched until an EpisodeReset is emitted."""
    state = AccountState("acc")
    for event in to_events(script):
        was_latched = state.latched
        state, effects = observe(state, event, policy, event.event_time)
        if was_latched and not state.latched:
            assert any(isinstance(effect, EpisodeReset) for effect in effects)
