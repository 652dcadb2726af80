"""The drawdown breaker's step function, one behaviour per test (SPEC §3)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from schemas.enums import BreachRule, ProfileName
from streams.drawdown import (
    DAY_MS,
    AccountMismatchError,
    AccountState,
    AccountUpdate,
    BreachTriggered,
    DrawdownEvent,
    Effect,
    EpisodeReset,
    InvalidEventError,
    RiskWarning,
    Thresholds,
    check_stale,
    daily_loss,
    drawdown,
    observe,
)
from streams.testing import AccountEvents, FakeClock, thresholds

NORMAL = thresholds()  # max_drawdown 0.10, max_daily_loss 0.05, warn at 0.8
# Within one UTC day every drop is also a daily loss; this isolates the drawdown rule.
DRAWDOWN_ONLY = thresholds(changes={"max_daily_loss": 1.0})


def run(
    events: Sequence[DrawdownEvent],
    limits: Thresholds | None = NORMAL,
    state: AccountState | None = None,
) -> tuple[AccountState, list[Effect]]:
    current = state or AccountState("acc-1")
    effects: list[Effect] = []
    for event in events:
        current, produced = observe(current, event, limits, event.event_time)
        effects.extend(produced)
    return current, effects


def triggers(effects: list[Effect]) -> list[BreachTriggered]:
    return [effect for effect in effects if isinstance(effect, BreachTriggered)]


def warnings(effects: list[Effect]) -> list[RiskWarning]:
    return [effect for effect in effects if isinstance(effect, RiskWarning)]


@pytest.fixture
def acc() -> AccountEvents:
    return AccountEvents("acc-1", FakeClock())


def test_observe_when_wallet_and_positions_then_equity_is_their_sum(acc: AccountEvents) -> None:
    state, _ = run([acc.balance(1000.0), acc.position("BTC", 25.0), acc.position("ETH", -5.0)])
    assert state.equity == 1020.0
    assert state.positions == {"BTC": 25.0, "ETH": -5.0}


def test_observe_when_balance_gives_equity_then_that_equity_is_used(acc: AccountEvents) -> None:
    state, _ = run([acc.position("BTC", 50.0), acc.balance(1000.0, equity=990.0)])
    assert state.equity == 990.0


def test_observe_when_nothing_applied_yet_then_equity_unknown() -> None:
    assert AccountState("acc-1").equity is None


def test_observe_when_equity_rises_then_peak_follows(acc: AccountEvents) -> None:
    state, _ = run([acc.balance(1000.0), acc.position("BTC", 200.0), acc.position("BTC", 50.0)])
    assert state.peak_equity == 1200.0
    assert drawdown(state) == pytest.approx(150 / 1200)


def test_observe_when_drawdown_exceeds_limit_then_one_trigger_with_its_numbers(
    acc: AccountEvents,
) -> None:
    funded = acc.balance(1000.0)
    tipping = acc.position("BTC", -101.0)
    _, effects = run([funded, tipping])
    (trigger,) = triggers(effects)
    assert trigger.breach_id == "acc-1:MAX_DRAWDOWN:1"
    assert (trigger.rule, trigger.episode, trigger.threshold) == (BreachRule.MAX_DRAWDOWN, 1, 0.10)
    assert trigger.drawdown == pytest.approx(0.101)
    assert (trigger.equity, trigger.peak_equity, trigger.day_start_equity) == (899.0, 1000, 1000)
    assert trigger.tipping_event_id == tipping.event_id
    assert (trigger.policy_profile, trigger.policy_version) == (ProfileName.NORMAL, 1)
    assert trigger.policy_hash == NORMAL.hash


def test_observe_when_drawdown_equals_limit_then_no_trigger(acc: AccountEvents) -> None:
    _, effects = run([acc.balance(1000.0), acc.balance(900.0)], DRAWDOWN_ONLY)
    assert triggers(effects) == []
    assert len(warnings(effects)) == 1


def test_observe_when_both_rules_breach_at_once_then_trigger_names_drawdown(
    acc: AccountEvents,
) -> None:
    _, effects = run([acc.balance(1000.0), acc.balance(500.0)])
    (trigger,) = triggers(effects)
    assert trigger.rule is BreachRule.MAX_DRAWDOWN
    assert trigger.daily_loss == 0.5


def test_observe_when_warn_level_reached_then_one_warning_per_rule(acc: AccountEvents) -> None:
    limits = thresholds(changes={"max_daily_loss": 0.09})
    # Warn levels: 0.8 x 0.10 = 8 % drawdown, 0.8 x 0.09 = 7.2 % daily loss.
    _, effects = run([acc.balance(1000.0), acc.balance(925.0), acc.balance(915.0)], limits)
    assert [(w.rule, w.warning_id) for w in warnings(effects)] == [
        (BreachRule.DAILY_LOSS, "acc-1:DAILY_LOSS:1:warning"),
        (BreachRule.MAX_DRAWDOWN, "acc-1:MAX_DRAWDOWN:1:warning"),
    ]
    assert triggers(effects) == []


def test_observe_when_warning_level_hit_again_then_no_second_warning(acc: AccountEvents) -> None:
    _, effects = run(
        [acc.balance(1000.0), acc.balance(950.0), acc.balance(1000.0), acc.balance(950.0)]
    )
    assert len(warnings(effects)) == 1


def test_observe_when_breach_jumps_past_warning_then_warning_precedes_trigger(
    acc: AccountEvents,
) -> None:
    _, effects = run([acc.balance(1000.0), acc.balance(880.0)])
    kinds = [type(effect) for effect in effects]
    assert kinds == [RiskWarning, RiskWarning, BreachTriggered]


def test_observe_when_confirmations_three_then_trips_on_third_consecutive(
    acc: AccountEvents,
) -> None:
    limits = thresholds(changes={"breach_confirmations": 3})
    state, effects = run([acc.balance(1000.0), acc.balance(880.0), acc.balance(870.0)], limits)
    assert triggers(effects) == []
    _, effects = run([acc.balance(860.0)], limits, state)
    assert len(triggers(effects)) == 1


def test_observe_when_breach_interrupted_then_confirmations_start_over(acc: AccountEvents) -> None:
    limits = thresholds(changes={"breach_confirmations": 2})
    events = [acc.balance(1000.0), acc.balance(880.0), acc.balance(950.0), acc.balance(880.0)]
    state, effects = run(events, limits)
    assert triggers(effects) == []
    assert state.breaches[BreachRule.MAX_DRAWDOWN] == 1


def test_observe_when_equity_recovers_after_trip_then_stays_latched(acc: AccountEvents) -> None:
    events = [acc.balance(1000.0), acc.balance(800.0), acc.balance(1200.0), acc.balance(500.0)]
    state, effects = run(events)
    assert state.latched
    assert state.latched_episode == 1
    assert len(triggers(effects)) == 1


def test_observe_when_policy_tightens_then_next_event_uses_new_limit(acc: AccountEvents) -> None:
    state, effects = run([acc.balance(1000.0), acc.balance(930.0)], DRAWDOWN_ONLY)
    assert triggers(effects) == []
    defensive = thresholds(ProfileName.DEFENSIVE, {"max_daily_loss": 1.0})  # max_drawdown 0.06
    _, effects = run([acc.balance(930.0)], defensive, state)
    (trigger,) = triggers(effects)
    assert (trigger.policy_profile, trigger.threshold) == (ProfileName.DEFENSIVE, 0.06)


def test_observe_when_no_policy_then_state_tracked_without_effects(acc: AccountEvents) -> None:
    state, effects = run([acc.balance(1000.0), acc.balance(500.0)], limits=None)
    assert effects == []
    assert (state.peak_equity, state.equity, state.latched) == (1000.0, 500.0, False)


def test_observe_when_event_is_duplicate_then_nothing_changes(acc: AccountEvents) -> None:
    first = acc.balance(1000.0)
    tipping = acc.balance(800.0)
    state, _ = run([first, tipping])
    again, effects = observe(state, tipping, NORMAL, tipping.event_time)
    assert effects == []
    assert again is state


def test_observe_when_older_sequence_arrives_late_then_ignored(acc: AccountEvents) -> None:
    """A stale resend (or a replay) never puts back a position the venue closed."""
    funded = acc.balance(1000.0)
    opened = acc.position("BTC", 150.0)
    closed = acc.close("BTC", 150.0)
    state, _ = run([funded, opened, closed])
    again, effects = observe(state, opened, NORMAL, opened.event_time)
    assert (again, effects) == (state, [])
    assert again.positions == {}


def test_observe_when_position_closes_then_realized_pnl_is_in_the_wallet(
    acc: AccountEvents,
) -> None:
    opened = [acc.balance(1000.0), acc.position("BTC", 150.0)]
    acc.clock.advance(1.0)
    state, effects = run([*opened, acc.close("BTC", 150.0)])
    assert (state.wallet_balance, state.equity, state.positions) == (1150.0, 1150.0, {})
    assert effects == []


def test_observe_when_snapshot_lists_positions_then_the_unlisted_are_closed(
    acc: AccountEvents,
) -> None:
    state, _ = run([acc.balance(1000.0), acc.position("BTC", 10.0), acc.position("ETH", -4.0)])
    only_eth = AccountUpdate("e-x", acc.clock.now(), "acc-1", 99, 1000.0, None, {"ETH": -2.0})
    state, _ = observe(state, only_eth, NORMAL, acc.clock.now())
    assert (state.positions, state.equity, state.sequence) == ({"ETH": -2.0}, 998.0, 99)


def test_reset_when_latched_episode_named_then_new_episode_starts(acc: AccountEvents) -> None:
    state, _ = run([acc.balance(1000.0), acc.balance(850.0)])
    reset = acc.reset(1)
    state, effects = run([reset], state=state)
    assert effects == [EpisodeReset("acc-1", 1, "operator", "test reset", None, reset.event_id)]
    assert (state.episode, state.latched, state.latched_episode) == (2, False, 0)
    assert state.warned == frozenset()


def test_reset_when_still_in_drawdown_without_rebase_then_trips_episode_two(
    acc: AccountEvents,
) -> None:
    state, _ = run([acc.balance(1000.0), acc.balance(850.0), acc.reset(1)])
    _, effects = run([acc.balance(850.0)], state=state)
    assert [t.breach_id for t in triggers(effects)] == ["acc-1:MAX_DRAWDOWN:2"]


def test_reset_when_rebase_peak_then_peak_is_current_equity(acc: AccountEvents) -> None:
    state, _ = run([acc.balance(1000.0), acc.balance(850.0)])
    state, effects = run([acc.reset(1, rebase_peak=True)], state=state)
    assert state.peak_equity == 850.0
    assert isinstance(effects[0], EpisodeReset)
    assert effects[0].rebased_peak == 850.0


@pytest.mark.parametrize("episode", [0, 2])
def test_reset_when_other_episode_named_then_ignored(acc: AccountEvents, episode: int) -> None:
    latched, _ = run([acc.balance(1000.0), acc.balance(850.0)])
    state, effects = run([acc.reset(episode)], state=latched)
    assert effects == []
    assert (state.latched, state.episode) == (True, 1)


def test_reset_when_read_before_its_episode_tripped_and_replayed_after_then_still_latched(
    acc: AccountEvents,
) -> None:
    """A replay after a crash reads the reset topic and the account topic in another
    interleaving: a reset that found episode 1 not yet tripped must not end it later."""
    early = acc.reset(1)
    state, _ = run([early, acc.balance(1000.0), acc.balance(800.0)])
    assert state.latched
    replayed, effects = observe(state, early, NORMAL, acc.clock.now())
    assert (replayed.latched, replayed.episode, effects) == (True, 1, [])


def test_reset_when_not_latched_then_ignored(acc: AccountEvents) -> None:
    state, effects = run([acc.balance(1000.0), acc.reset(1, rebase_peak=True)])
    assert effects == []
    assert (state.episode, state.peak_equity) == (1, 1000.0)


def test_observe_when_new_utc_day_then_day_start_is_equity_carried_over(
    acc: AccountEvents,
) -> None:
    state, _ = run([acc.balance(1000.0), acc.balance(980.0)])
    acc.clock.advance(ms=DAY_MS)
    state, effects = run([acc.balance(940.0)], state=state)
    assert state.day_start_equity == 980.0
    assert daily_loss(state) == pytest.approx(40 / 980)
    assert [w.rule for w in warnings(effects)] == [BreachRule.DAILY_LOSS]


def test_observe_when_daily_loss_exceeds_limit_then_daily_loss_trigger(acc: AccountEvents) -> None:
    state, _ = run([acc.balance(1000.0), acc.balance(1100.0)])
    acc.clock.advance(ms=DAY_MS)
    _, effects = run([acc.balance(1100.0), acc.balance(1040.0)], state=state)
    (trigger,) = triggers(effects)
    assert (trigger.rule, trigger.breach_id) == (BreachRule.DAILY_LOSS, "acc-1:DAILY_LOSS:1")
    assert trigger.day_start_equity == 1100.0


def test_observe_when_late_event_from_previous_day_then_day_not_rolled_back(
    acc: AccountEvents,
) -> None:
    acc.clock.advance(ms=DAY_MS)
    state, _ = run([acc.balance(1000.0)])
    late = AccountUpdate("late-1", acc.clock.now() - DAY_MS, "acc-1", 100, 990.0)
    state, _ = run([late], state=state)
    assert (state.day, state.day_start_equity) == (acc.clock.now() // DAY_MS, 1000.0)


def test_observe_when_peak_not_positive_then_drawdown_zero_without_division(
    acc: AccountEvents,
) -> None:
    state, effects = run([acc.balance(0.0), acc.balance(-50.0)])
    assert (drawdown(state), daily_loss(state)) == (0.0, 0.0)
    assert effects == []


def test_observe_when_equity_below_zero_then_reported_drawdown_clamped_to_one(
    acc: AccountEvents,
) -> None:
    _, effects = run([acc.balance(1000.0), acc.balance(-200.0)])
    assert (triggers(effects)[0].drawdown, triggers(effects)[0].daily_loss) == (1.0, 1.0)


def test_observe_when_event_for_other_account_then_refused(acc: AccountEvents) -> None:
    with pytest.raises(AccountMismatchError) as raised:
        observe(AccountState("acc-2"), acc.balance(1.0), NORMAL, 0)
    assert (raised.value.expected, raised.value.actual) == ("acc-2", "acc-1")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (AccountUpdate("e-1", 0, "acc-1", 1, math.nan), "wallet_balance"),
        (AccountUpdate("e-2", 0, "acc-1", 1, 1.0, math.inf), "equity"),
        (AccountUpdate("e-3", 0, "acc-1", 1, 1.0, None, {"BTC": math.nan}), "positions.BTC"),
        (AccountUpdate("e-4", 0, "acc-1", 0, 1.0), "sequence"),
    ],
)
def test_observe_when_money_not_finite_or_sequence_below_one_then_refused_naming_field(
    event: AccountUpdate, field: str
) -> None:
    with pytest.raises(InvalidEventError) as raised:
        observe(AccountState("acc-1"), event, NORMAL, 0)
    assert raised.value.field == field


def test_check_stale_when_no_positions_then_never_stale(acc: AccountEvents) -> None:
    state, _ = run([acc.balance(1000.0)])
    assert not check_stale(state, acc.clock.now() + 3_600_000, 30)


def test_check_stale_when_positions_and_silence_reaches_bound_then_stale(
    acc: AccountEvents,
) -> None:
    state, _ = run([acc.balance(1000.0), acc.position("BTC", 1.0)])
    start = acc.clock.now()
    assert not check_stale(state, start + 29_999, 30)
    assert check_stale(state, start + 30_000, 30)


def test_check_stale_when_event_time_ahead_of_now_then_clock_of_processor_counts(
    acc: AccountEvents,
) -> None:
    future = acc.position("BTC", 1.0)
    state, _ = observe(AccountState("acc-1"), future, NORMAL, future.event_time - 60_000)
    assert state.last_equity_at == future.event_time - 60_000
    assert check_stale(state, future.event_time - 30_000, 30)
