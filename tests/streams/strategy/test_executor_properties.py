"""Properties of the executor's decision over arbitrary signals and contexts."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import DenyReason, EssState, ProfileName, SignalAction, StrategyName
from streams.strategy import (
    Accept,
    DecisionContext,
    Reject,
    Signal,
    decide,
    limits_for,
    order_id_for,
)
from streams.testing import START, context, policy, signal

SETTINGS = settings(max_examples=200, deadline=None)
POLICIES = {name: policy(name) for name in ProfileName}

signals = st.builds(
    lambda action, confidence, quantity, version: signal(
        action, confidence=confidence, quantity=quantity, model_version=version
    ),
    st.sampled_from(list(SignalAction)),
    st.floats(0, 1),
    st.one_of(st.none(), st.floats(0.01, 50)),
    st.sampled_from(["1", "1", "2"]),
)
contexts = st.builds(
    lambda ess, profile, strategy, position, equity, price, ready, age, cooled: replace(
        context(
            ess=ess,
            policy_version=POLICIES[profile],
            strategy=strategy,
            positions={"BTCUSDT": position} if position else {},
            equity=equity,
            price=price,
        ),
        ready=ready,
        heartbeat_age_ms=age,
        last_order_at={} if cooled else {("acc-1", "BTCUSDT"): START},
    ),
    # Weighted towards contexts that let orders through, so the limits are exercised.
    st.sampled_from([*EssState, EssState.ARMED, EssState.ARMED, EssState.ARMED]),
    st.sampled_from(list(ProfileName)),
    st.sampled_from(list(StrategyName)),
    st.sampled_from([0.0, 0.0, 2.0, -2.0, 0.5]),
    st.sampled_from([None, 10_000.0]) | st.floats(-1000, 2_000_000) | st.floats(1000, 50_000),
    st.sampled_from([None, 100.0]) | st.floats(0.5, 100_000) | st.floats(1, 200),
    st.sampled_from([True] * 5 + [False]),
    st.sampled_from([100] * 4 + [None, 10_000]),
    st.sampled_from([True] * 3 + [False]),
)

# Contexts in which an opening order can pass the fail-closed and ESS gates, so that the
# size, leverage and confidence limits are what decides.
open_contexts = st.builds(
    lambda base, ess, equity, price, exposure: replace(
        base,
        ready=True,
        heartbeat_age_ms=100,
        ess=replace(base.ess, state=ess),
        equity=equity,
        price=price,
        open_notional=exposure,
    ),
    contexts,
    st.sampled_from([EssState.ARMED, EssState.COOLING_DOWN, EssState.DISABLED]),
    st.floats(-1000, 2_000_000),
    st.floats(0.5, 100_000),
    st.sampled_from([0.0, 0.0, 40_000.0]),
)

open_signals = st.builds(
    lambda action, confidence, quantity: signal(action, confidence=confidence, quantity=quantity),
    st.sampled_from([SignalAction.BUY, SignalAction.SELL]),
    st.integers(30, 100).map(lambda percent: percent / 100),
    st.sampled_from([None, None]) | st.floats(0.01, 50),
)


@SETTINGS
@given(signals, contexts)
def test_decide_when_any_input_then_order_id_derives_from_the_signal_alone(
    sig: Signal, ctx: DecisionContext
) -> None:
    """Accepted or refused, the decision carries the signal's deterministic order id."""
    decision = decide(sig, ctx)
    found = decision.order.order_id if isinstance(decision, Accept) else decision.order_id
    assert found == order_id_for(sig.signal_id)


@SETTINGS
@given(signals, contexts)
def test_decide_when_tripped_then_only_closes_are_accepted(
    sig: Signal, ctx: DecisionContext
) -> None:
    """Under TRIPPED nothing but a CLOSE becomes an order, and that order is reduce-only."""
    decision = decide(sig, replace(ctx, ess=replace(ctx.ess, state=EssState.TRIPPED)))
    if isinstance(decision, Accept):
        assert sig.action is SignalAction.CLOSE
        assert decision.order.reduce_only


@SETTINGS
@given(signals, contexts)
def test_decide_when_reducing_then_every_accepted_order_is_reduce_only(
    sig: Signal, ctx: DecisionContext
) -> None:
    """Under REDUCING an accepted order never opens or increases a position."""
    decision = decide(sig, replace(ctx, ess=replace(ctx.ess, state=EssState.REDUCING)))
    if isinstance(decision, Accept):
        assert decision.order.reduce_only
        assert decision.order.quantity <= abs(ctx.positions.get(sig.symbol, 0.0))


@SETTINGS
@given(open_signals, open_contexts)
def test_decide_when_order_adds_risk_then_within_every_effective_limit(
    sig: Signal, ctx: DecisionContext
) -> None:
    """An accepted opening order respects size, leverage and confidence limits."""
    decision = decide(sig, ctx)
    if not isinstance(decision, Accept) or decision.order.reduce_only:
        return
    assert ctx.policy is not None
    assert ctx.equity is not None
    limits = limits_for(ctx, ctx.policy)
    assert decision.order.notional <= limits.max_notional(ctx.equity) * (1 + 1e-9)
    assert decision.order.notional >= ctx.min_notional
    assert decision.order.leverage == limits.leverage
    assert sig.confidence >= limits.min_confidence
    assert ctx.open_notional + decision.order.notional <= limits.leverage * ctx.equity


@SETTINGS
@given(signals, contexts)
def test_decide_when_not_ready_then_state_not_ready_whatever_else(
    sig: Signal, ctx: DecisionContext
) -> None:
    """Readiness is checked first, for every action."""
    decision = decide(sig, replace(ctx, ready=False))
    assert isinstance(decision, Reject)
    assert decision.reason is DenyReason.STATE_NOT_READY


@SETTINGS
@given(signals, contexts)
def test_decide_when_same_input_twice_then_same_decision(sig: Signal, ctx: DecisionContext) -> None:
    """The decision is a pure function of its inputs (a redelivery decides the same)."""
    assert decide(sig, ctx) == decide(sig, ctx)
