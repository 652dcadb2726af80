"""The executor's decision: ``decide(signal, context) -> Accept | Reject``.

Reason order (the first that applies is reported):

BUY / SELL
  1. STATE_NOT_READY      control state not read to the end, or no equity for the account
  2. STALE_CONTROL_STATE  no heartbeat within the bound (dead-man's switch)
  3. POLICY_UNAVAILABLE   no valid risk policy (fail closed)
  4. NO_MARKET_PRICE      no finite, positive price to size at
  5. ESS_TRIPPED          every BUY/SELL, even one that would reduce: under TRIPPED only CLOSE
  6. ESS_REDUCING         the order opens or increases (from flat too, or flips a position)
  7. UNKNOWN_MODEL_VERSION  the model version is not one the executor has loaded
  then, only for orders that open or increase (a reduction skips 8-13):
  8. BELOW_MIN_CONFIDENCE  9. NEW_POSITIONS_DISABLED  10. MAX_OPEN_POSITIONS (new symbol)
  11. SYMBOL_COOLDOWN (the per-symbol re-entry pause; not the ESS's COOLING_DOWN)
  12. SIZE_CAP  13. LEVERAGE_CAP (gross notional after the order > cap x equity)
  Orders in flight (accepted, opening or increasing, not yet filled) count in 10 and 13 as
  if filled.

CLOSE (an exit: never blocked by the control plane, SPEC §0 and §9 scenario 6)
  1. STATE_NOT_READY (positions unknown)  2. NO_POSITION_TO_CLOSE (nothing held and
  nothing in flight)  3. NO_MARKET_PRICE
  then accepted as a reduce-only order for the whole position, orders in flight included
  (the venue executes them first and clips a reduce-only order to what is held), whatever
  the ESS state, heartbeat, policy (the order then records none) or model version.

Size rule: with no size in the signal, notional = min(equity x position fraction,
position_size_cap), where position fraction = min(preset size, max_risk_per_trade); it is
accepted unless below ``min_notional`` (SIZE_CAP). A size the signal requests is never
silently changed: above that cap, or below the minimum, it is refused with SIZE_CAP.
A BUY/SELL against a position is a reduction when its quantity is at most the position; a
larger one flips the position and counts as an increase.

Under COOLING_DOWN the limits are also held to the defensive profile (SPEC §4); DISABLED
restricts nothing. The order id derives from the signal id alone (see ``order_id_for``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from schemas.enums import DenyReason, EssState, OrderSide, ProfileName, SignalAction
from streams.policy import DEFAULT_PROFILES, PolicyVersion
from streams.strategy.limits import EffectiveLimits, effective_limits
from streams.strategy.orders import (
    Accept,
    Decision,
    DecisionContext,
    OrderIntent,
    Reject,
    Signal,
    check_signal,
    order_id_for,
)
from streams.strategy.presets import PRESETS

Refusal: TypeAlias = tuple[DenyReason, str]

# quantity x price round-trips through floats: a request of exactly the cap must not be
# refused for one ulp.
_CAP_SLACK = 1e-9


@dataclass(frozen=True)
class _Inputs:
    policy: PolicyVersion
    equity: float
    price: float


@dataclass(frozen=True)
class _Plan:
    inputs: _Inputs
    limits: EffectiveLimits
    side: OrderSide
    quantity: float
    notional: float
    requested: bool
    position: float

    @property
    def reduces(self) -> bool:
        against = self.position > 0 if self.side is OrderSide.SELL else self.position < 0
        return against and self.quantity <= abs(self.position)


@dataclass(frozen=True)
class _Sized:
    side: OrderSide
    quantity: float
    price: float
    leverage: float
    reduce_only: bool


Gate: TypeAlias = Callable[[Signal, DecisionContext, _Plan], Refusal | None]


def decide(signal: Signal, context: DecisionContext) -> Decision:
    """Accept the signal as an order, or reject it with the first reason that applies."""
    check_signal(signal)
    order_id = order_id_for(signal.signal_id)
    if signal.action is SignalAction.CLOSE:
        return _close(signal, context, order_id)
    inputs = _fail_closed(context)
    if not isinstance(inputs, _Inputs):
        return Reject(order_id, *inputs)
    plan = _plan(signal, context, inputs)
    gates = _GATES if plan.reduces else (*_GATES, *_RISK_GATES)
    for gate in gates:
        refusal = gate(signal, context, plan)
        if refusal is not None:
            return Reject(order_id, *refusal)
    return Accept(_order(signal, context, plan, order_id))


def limits_for(context: DecisionContext, policy: PolicyVersion) -> EffectiveLimits:
    """The limits a decision in ``context`` is held to."""
    profiles = [policy.values]
    if context.ess.state is EssState.COOLING_DOWN:
        profiles.append(DEFAULT_PROFILES[ProfileName.DEFENSIVE])
    return effective_limits(PRESETS[context.strategy], *profiles)


def _fail_closed(context: DecisionContext) -> _Inputs | Refusal:
    if not context.ready or context.equity is None:
        missing = "control state not read to the end" if not context.ready else "no equity"
        return DenyReason.STATE_NOT_READY, missing
    age, bound = context.heartbeat_age_ms, context.heartbeat_bound_ms
    if age is None or age > bound:
        return DenyReason.STALE_CONTROL_STATE, f"last heartbeat {age} ms ago, bound {bound} ms"
    if context.policy is None:
        return DenyReason.POLICY_UNAVAILABLE, "no valid risk policy"
    price = _price(context)
    if price is None:
        return DenyReason.NO_MARKET_PRICE, f"no usable price ({context.price})"
    return _Inputs(context.policy, context.equity, price)


def _plan(signal: Signal, context: DecisionContext, inputs: _Inputs) -> _Plan:
    limits = limits_for(context, inputs.policy)
    if signal.quantity is not None:
        quantity, notional = signal.quantity, signal.quantity * inputs.price
    else:
        notional = (
            limits.max_notional(inputs.equity) if signal.notional is None else signal.notional
        )
        quantity = notional / inputs.price
    return _Plan(
        inputs=inputs,
        limits=limits,
        side=OrderSide.BUY if signal.action is SignalAction.BUY else OrderSide.SELL,
        quantity=quantity,
        notional=notional,
        requested=signal.quantity is not None or signal.notional is not None,
        position=context.positions.get(signal.symbol, 0.0),
    )


def _ess(_signal: Signal, context: DecisionContext, plan: _Plan) -> Refusal | None:
    ess = context.ess
    if ess.state is EssState.TRIPPED:
        return DenyReason.ESS_TRIPPED, f"{ess.scope} TRIPPED (v{ess.version}): only closes pass"
    if ess.state is EssState.REDUCING and not plan.reduces:
        return DenyReason.ESS_REDUCING, f"{ess.scope} REDUCING (v{ess.version}): reductions only"
    return None


def _model(signal: Signal, context: DecisionContext, _plan: _Plan) -> Refusal | None:
    if signal.model_version in context.known_models.get(signal.model_name, ()):
        return None
    return DenyReason.UNKNOWN_MODEL_VERSION, f"{signal.model_name} {signal.model_version}"


def _confidence(signal: Signal, _context: DecisionContext, plan: _Plan) -> Refusal | None:
    floor = plan.limits.min_confidence
    if signal.confidence >= floor:
        return None
    return DenyReason.BELOW_MIN_CONFIDENCE, f"confidence {signal.confidence:.2f} < min {floor:.2f}"


def _new_positions(_signal: Signal, _context: DecisionContext, plan: _Plan) -> Refusal | None:
    if plan.limits.allow_new_positions:
        return None
    return DenyReason.NEW_POSITIONS_DISABLED, "allow_new_positions is false"


def _max_open(signal: Signal, context: DecisionContext, plan: _Plan) -> Refusal | None:
    held = {symbol for symbol, quantity in context.positions.items() if quantity != 0}
    opening = held | set(context.in_flight)
    if signal.symbol in opening or len(opening) < plan.limits.max_open_positions:
        return None
    pending = len(opening - held)
    return (
        DenyReason.MAX_OPEN_POSITIONS,
        f"{len(opening)} open ({pending} in flight) >= max {plan.limits.max_open_positions}",
    )


def _symbol_cooldown(signal: Signal, context: DecisionContext, plan: _Plan) -> Refusal | None:
    last = context.last_order_at.get((signal.account_id, signal.symbol))
    wait_ms = plan.limits.cooldown_seconds * 1000
    if last is None or context.now - last >= wait_ms:
        return None
    return (
        DenyReason.SYMBOL_COOLDOWN,
        f"re-entry pause: last order of {signal.symbol} {context.now - last} ms ago < {wait_ms} ms",
    )


def _size(_signal: Signal, context: DecisionContext, plan: _Plan) -> Refusal | None:
    cap = plan.limits.max_notional(plan.inputs.equity)
    if plan.requested and plan.notional > cap * (1 + _CAP_SLACK):
        return DenyReason.SIZE_CAP, f"requested notional {plan.notional:.2f} > cap {cap:.2f}"
    if plan.notional < context.min_notional:
        return DenyReason.SIZE_CAP, f"notional {plan.notional:.2f} < min {context.min_notional}"
    return None


def _leverage(_signal: Signal, context: DecisionContext, plan: _Plan) -> Refusal | None:
    gross = context.open_notional + sum(context.in_flight.values()) + plan.notional
    allowed = plan.limits.leverage * plan.inputs.equity
    if gross <= allowed:
        return None
    return DenyReason.LEVERAGE_CAP, f"gross notional {gross:.2f} > {plan.limits.leverage}x equity"


_GATES: tuple[Gate, ...] = (_ess, _model)
_RISK_GATES: tuple[Gate, ...] = (
    _confidence,
    _new_positions,
    _max_open,
    _symbol_cooldown,
    _size,
    _leverage,
)


def _close(signal: Signal, context: DecisionContext, order_id: str) -> Decision:
    held = context.positions.get(signal.symbol, 0.0)
    position = held + context.in_flight_quantity.get(signal.symbol, 0.0)
    price = _price(context)
    if not context.ready:
        return Reject(order_id, DenyReason.STATE_NOT_READY, "positions not read to the end")
    if position == 0:
        return Reject(order_id, DenyReason.NO_POSITION_TO_CLOSE, f"no {signal.symbol} position")
    if price is None:
        return Reject(order_id, DenyReason.NO_MARKET_PRICE, f"no usable price ({context.price})")
    policy = context.policy
    # A reduce-only order adds no margin; leverage is informational when no policy is known.
    leverage = 1.0 if policy is None else limits_for(context, policy).leverage
    side = OrderSide.SELL if position > 0 else OrderSide.BUY
    sized = _Sized(side, abs(position), price, leverage, reduce_only=True)
    return Accept(_intent(signal, context, order_id, sized))


def _order(signal: Signal, context: DecisionContext, plan: _Plan, order_id: str) -> OrderIntent:
    sized = _Sized(plan.side, plan.quantity, plan.inputs.price, plan.limits.leverage, plan.reduces)
    return _intent(signal, context, order_id, sized)


def _intent(signal: Signal, context: DecisionContext, order_id: str, sized: _Sized) -> OrderIntent:
    return OrderIntent(
        order_id=order_id,
        signal_id=signal.signal_id,
        account_id=signal.account_id,
        symbol=signal.symbol,
        side=sized.side,
        quantity=sized.quantity,
        price=sized.price,
        notional=sized.quantity * sized.price,
        leverage=sized.leverage,
        reduce_only=sized.reduce_only,
        strategy=context.strategy,
        policy=context.policy,
        ess_state=context.ess.state,
        ess_version=context.ess.version,
        model_name=signal.model_name,
        model_version=signal.model_version,
    )


def _price(context: DecisionContext) -> float | None:
    price = context.price
    return price if price is not None and math.isfinite(price) and price > 0 else None
