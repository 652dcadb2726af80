"""The executor's decision: typed reasons in a documented order, exits never blocked."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from schemas.enums import DenyReason, EssState, OrderSide, ProfileName, SignalAction, StrategyName
from streams.strategy import (
    Accept,
    Decision,
    InvalidSignalError,
    OrderIntent,
    Reject,
    decide,
    order_id_for,
)
from streams.testing import START, context, policy, signal

BUY, SELL, CLOSE = SignalAction.BUY, SignalAction.SELL, SignalAction.CLOSE


def accepted(decision: Decision) -> OrderIntent:
    assert isinstance(decision, Accept), decision
    return decision.order


def reason(decision: Decision) -> DenyReason:
    assert isinstance(decision, Reject), decision
    return decision.reason


def test_decide_when_all_clear_then_order_sized_from_equity_and_policy() -> None:
    buy = signal(BUY)
    order = accepted(decide(buy, context()))
    # moderate under normal: min(0.05, 0.015) x 10 000 = 150, under the 1000 cap.
    assert (order.notional, order.quantity, order.price) == (150.0, 1.5, 100.0)
    assert (order.side, order.leverage, order.reduce_only) == (OrderSide.BUY, 5.0, False)
    assert order.order_id == order_id_for(buy.signal_id)
    assert order.policy is not None
    assert order.policy.hash == policy().hash
    assert (order.strategy, order.ess_state, order.ess_version) == (
        StrategyName.MODERATE,
        EssState.ARMED,
        1,
    )


def test_decide_when_large_equity_then_notional_clamped_to_position_size_cap() -> None:
    order = accepted(decide(signal(BUY), context(equity=1_000_000.0)))
    assert order.notional == 1000.0


def test_decide_when_signal_redelivered_in_another_context_then_same_order_id() -> None:
    buy = signal(BUY)
    first = accepted(decide(buy, context()))
    second = decide(buy, context(equity=20_000.0, price=101.0, ess=EssState.TRIPPED))
    assert isinstance(second, Reject)
    assert first.order_id == second.order_id


def test_decide_when_state_not_ready_then_refused_before_anything_else() -> None:
    ctx = replace(context(ess=EssState.TRIPPED, price=None), ready=False, policy=None)
    assert reason(decide(signal(BUY), ctx)) is DenyReason.STATE_NOT_READY


def test_decide_when_equity_unknown_then_state_not_ready() -> None:
    assert reason(decide(signal(BUY), context(equity=None))) is DenyReason.STATE_NOT_READY


@pytest.mark.parametrize("age", [None, 5_001])
def test_decide_when_heartbeat_missing_or_old_then_stale_control_state(age: int | None) -> None:
    ctx = replace(context(), heartbeat_age_ms=age, policy=None)
    assert reason(decide(signal(BUY), ctx)) is DenyReason.STALE_CONTROL_STATE


def test_decide_when_heartbeat_exactly_at_bound_then_fresh() -> None:
    ctx = replace(context(), heartbeat_age_ms=5_000)
    assert isinstance(decide(signal(BUY), ctx), Accept)


def test_decide_when_no_policy_then_policy_unavailable() -> None:
    ctx = replace(context(ess=EssState.TRIPPED), policy=None)
    assert reason(decide(signal(BUY), ctx)) is DenyReason.POLICY_UNAVAILABLE


@pytest.mark.parametrize("price", [None, 0.0, -1.0, math.nan, math.inf])
def test_decide_when_no_usable_price_then_no_market_price(price: float | None) -> None:
    ctx = context(price=price, ess=EssState.TRIPPED)
    assert reason(decide(signal(BUY), ctx)) is DenyReason.NO_MARKET_PRICE


@pytest.mark.parametrize("action", [BUY, SELL])
def test_decide_when_tripped_then_every_buy_or_sell_refused(action: SignalAction) -> None:
    # A SELL against a long would reduce it, but under TRIPPED only CLOSE passes.
    ctx = context(ess=EssState.TRIPPED, positions={"BTCUSDT": 5.0})
    refused = decide(signal(action, confidence=0.0, model_version="x"), ctx)
    assert reason(refused) is DenyReason.ESS_TRIPPED
    assert isinstance(refused, Reject)
    assert "TRIPPED" in refused.detail


def test_decide_when_tripped_and_close_then_close_passes() -> None:
    ctx = context(ess=EssState.TRIPPED, positions={"BTCUSDT": -2.0})
    order = accepted(decide(signal(CLOSE), ctx))
    assert (order.side, order.quantity, order.reduce_only) == (OrderSide.BUY, 2.0, True)
    assert order.ess_state is EssState.TRIPPED


def test_decide_when_close_and_control_plane_degraded_then_close_still_passes() -> None:
    ctx = replace(
        context(ess=EssState.TRIPPED, positions={"BTCUSDT": 3.0}, known_models={}),
        heartbeat_age_ms=None,
        policy=None,
    )
    order = accepted(decide(signal(CLOSE, confidence=0.0), ctx))
    assert (order.side, order.quantity, order.policy, order.leverage) == (
        OrderSide.SELL,
        3.0,
        None,
        1.0,
    )


def test_decide_when_close_without_position_then_no_position_to_close() -> None:
    ctx = context(positions={"ETHUSDT": 1.0})
    assert reason(decide(signal(CLOSE), ctx)) is DenyReason.NO_POSITION_TO_CLOSE


def test_decide_when_close_without_price_then_no_market_price() -> None:
    ctx = context(positions={"BTCUSDT": 1.0}, price=None)
    assert reason(decide(signal(CLOSE), ctx)) is DenyReason.NO_MARKET_PRICE


def test_decide_when_close_before_state_ready_then_state_not_ready() -> None:
    ctx = replace(context(positions={"BTCUSDT": 1.0}), ready=False)
    assert reason(decide(signal(CLOSE), ctx)) is DenyReason.STATE_NOT_READY


def test_decide_when_reducing_and_flat_then_opening_refused() -> None:
    assert reason(decide(signal(BUY), context(ess=EssState.REDUCING))) is DenyReason.ESS_REDUCING


def test_decide_when_reducing_and_same_side_then_increase_refused() -> None:
    ctx = context(ess=EssState.REDUCING, positions={"BTCUSDT": 1.0})
    assert reason(decide(signal(BUY), ctx)) is DenyReason.ESS_REDUCING


def test_decide_when_reducing_and_opposite_within_position_then_reduce_only_passes() -> None:
    ctx = context(ess=EssState.REDUCING, positions={"BTCUSDT": 4.0})
    # A reduction skips the risk gates: low confidence and cooldown do not block it.
    ctx = replace(ctx, last_order_at={("acc-1", "BTCUSDT"): START})
    order = accepted(decide(signal(SELL, quantity=1.5, confidence=0.1), ctx))
    assert (order.side, order.quantity, order.reduce_only) == (OrderSide.SELL, 1.5, True)


def test_decide_when_reducing_and_sell_would_flip_position_then_refused() -> None:
    ctx = context(ess=EssState.REDUCING, positions={"BTCUSDT": 1.0})
    assert reason(decide(signal(SELL, quantity=1.5), ctx)) is DenyReason.ESS_REDUCING


def test_decide_when_model_version_unknown_then_refused() -> None:
    refused = decide(signal(BUY, model_version="2"), context())
    assert reason(refused) is DenyReason.UNKNOWN_MODEL_VERSION


def test_decide_when_confidence_below_minimum_then_refused_with_numbers() -> None:
    refused = decide(signal(BUY, confidence=0.49), context())
    assert reason(refused) is DenyReason.BELOW_MIN_CONFIDENCE
    assert isinstance(refused, Reject)
    assert refused.detail == "confidence 0.49 < min 0.50"


def test_decide_when_defensive_profile_and_strategy_then_060_refused() -> None:
    """SPEC §9 scenario 2: under the defensive switch a 0.60 signal is refused."""
    ctx = context(policy_version=policy(ProfileName.DEFENSIVE), strategy=StrategyName.DEFENSIVE)
    assert reason(decide(signal(BUY, confidence=0.60), ctx)) is DenyReason.BELOW_MIN_CONFIDENCE


def test_decide_when_defensive_switch_then_sizes_shrink() -> None:
    """SPEC §9 scenario 2: the same signal gets a smaller order after the switch."""
    before = accepted(decide(signal(BUY), context()))
    ctx = context(policy_version=policy(ProfileName.DEFENSIVE), strategy=StrategyName.DEFENSIVE)
    after = accepted(decide(signal(BUY), ctx))
    assert after.notional < before.notional
    assert after.leverage < before.leverage


def test_decide_when_new_positions_disallowed_then_refused() -> None:
    ctx = context(policy_version=policy(changes={"allow_new_positions": False}))
    assert reason(decide(signal(BUY), ctx)) is DenyReason.NEW_POSITIONS_DISABLED


def test_decide_when_max_open_positions_reached_then_new_symbol_refused() -> None:
    held = {f"S{i}": 1.0 for i in range(5)}  # moderate: at most 5 open
    assert reason(decide(signal(BUY), context(positions=held))) is DenyReason.MAX_OPEN_POSITIONS


def test_decide_when_max_open_reached_but_symbol_already_held_then_increase_allowed() -> None:
    held = {**{f"S{i}": 1.0 for i in range(4)}, "BTCUSDT": 0.5}
    assert isinstance(decide(signal(BUY), context(positions=held)), Accept)


def test_decide_when_orders_in_flight_fill_the_open_slots_then_new_symbol_refused() -> None:
    # 3 held + 2 accepted and not yet filled = the 5 moderate allows: a sixth symbol waits.
    held = {f"S{i}": 1.0 for i in range(3)}
    ctx = replace(context(positions=held), in_flight={"S3": 150.0, "S4": 150.0})
    refused = decide(signal(BUY), ctx)
    assert reason(refused) is DenyReason.MAX_OPEN_POSITIONS
    assert isinstance(refused, Reject)
    assert "(2 in flight)" in refused.detail


def test_decide_when_symbol_already_in_flight_then_not_a_new_position() -> None:
    held = {f"S{i}": 1.0 for i in range(4)}
    ctx = replace(context(positions=held), in_flight={"BTCUSDT": 150.0})
    assert isinstance(decide(signal(BUY), ctx), Accept)


def test_decide_when_within_symbol_cooldown_then_refused_with_symbol_cooldown() -> None:
    ctx = replace(context(now=START + 299_999), last_order_at={("acc-1", "BTCUSDT"): START})
    assert reason(decide(signal(BUY), ctx)) is DenyReason.SYMBOL_COOLDOWN


def test_decide_when_symbol_cooldown_elapsed_then_accepted() -> None:
    ctx = replace(context(now=START + 300_000), last_order_at={("acc-1", "BTCUSDT"): START})
    assert isinstance(decide(signal(BUY), ctx), Accept)


def test_decide_when_requested_quantity_above_cap_then_size_cap_not_clamped() -> None:
    refused = decide(signal(BUY, quantity=1.6), context())  # 160 > cap 150
    assert reason(refused) is DenyReason.SIZE_CAP


def test_decide_when_requested_notional_exactly_at_cap_then_accepted_as_asked() -> None:
    order = accepted(decide(signal(BUY, notional=150.0), context()))
    assert order.notional == 150.0


def test_decide_when_computed_size_below_minimum_then_size_cap() -> None:
    # 0.015 x 300 = 4.5 < the 5.0 minimum notional.
    assert reason(decide(signal(BUY), context(equity=300.0))) is DenyReason.SIZE_CAP


def test_decide_when_equity_negative_then_size_cap() -> None:
    assert reason(decide(signal(BUY), context(equity=-10.0))) is DenyReason.SIZE_CAP


def test_decide_when_gross_exposure_would_exceed_leverage_then_leverage_cap() -> None:
    ctx = replace(context(), open_notional=49_900.0)  # 5x of 10 000 = 50 000
    assert reason(decide(signal(BUY), ctx)) is DenyReason.LEVERAGE_CAP


def test_decide_when_in_flight_notional_would_exceed_leverage_then_leverage_cap() -> None:
    # 5x of 10 000 = 50 000: 49 000 held + 800 in flight + this 150 fits ...
    ctx = replace(context(), open_notional=49_000.0, in_flight={"S1": 800.0})
    assert isinstance(decide(signal(BUY), ctx), Accept)
    # ... and one more order in flight tips it over.
    ctx = replace(ctx, in_flight={"S1": 800.0, "S2": 100.0})
    assert reason(decide(signal(BUY), ctx)) is DenyReason.LEVERAGE_CAP


def test_decide_when_cooling_down_then_held_to_defensive_profile_too() -> None:
    ctx = context(ess=EssState.COOLING_DOWN)
    refused = decide(signal(BUY, confidence=0.55), ctx)  # normal allows 0.50, defensive 0.60
    assert reason(refused) is DenyReason.BELOW_MIN_CONFIDENCE
    order = accepted(decide(signal(BUY), ctx))
    assert (order.leverage, order.notional) == (3.0, 75.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("confidence", math.nan), ("confidence", 1.5), ("quantity", 0.0), ("notional", -5.0)],
)
def test_decide_when_signal_malformed_then_invalid_signal_error(field: str, value: float) -> None:
    bad = replace(signal(BUY), **{field: value})  # type: ignore[arg-type]
    with pytest.raises(InvalidSignalError) as raised:
        decide(bad, context())
    assert raised.value.field == field
