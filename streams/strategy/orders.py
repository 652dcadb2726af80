"""The executor's inputs and outputs: a signal, what it is decided against, the decision."""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import TypeAlias

from schemas.enums import DenyReason, EssState, OrderSide, SignalAction, StrategyName
from schemas.ids import derived_id
from streams.ess import ScopeState
from streams.policy import PolicyVersion
from streams.strategy.exceptions import InvalidSignalError

MIN_NOTIONAL = 5.0
"""Smallest order notional (account currency) worth sending: Binance USDT-M futures refuse
orders under 5 USDT, so a smaller computed size is refused here with SIZE_CAP."""


@dataclass(frozen=True)
class Signal:
    """A ``trade.signal``. ``quantity`` (base units) or else ``notional`` (money) requests a
    size; with neither, the executor sizes the order from the effective limits."""

    signal_id: str
    account_id: str
    symbol: str
    action: SignalAction
    confidence: float
    model_name: str
    model_version: str
    quantity: float | None = None
    notional: float | None = None


@dataclass(frozen=True)
class DecisionContext:
    """Everything one decision reads, assembled by the executor edge. Times are epoch ms.

    ``ess`` is the effective state over the order's scopes
    (:func:`streams.ess.effective_state`); ``positions`` are this account's signed
    quantities (short < 0); ``last_order_at`` is keyed by (account, symbol);
    ``open_notional`` is the account's gross open notional; ``in_flight`` is the notional
    per symbol of accepted orders that open or increase a position and are not yet filled
    (they count toward the open positions and the gross notional), ``in_flight_quantity``
    their signed quantity per symbol (a CLOSE closes them too); ``known_models`` maps a
    model name to the versions the executor has loaded.
    """

    now: int
    ready: bool
    heartbeat_age_ms: int | None
    heartbeat_bound_ms: int
    policy: PolicyVersion | None
    strategy: StrategyName
    ess: ScopeState
    equity: float | None
    price: float | None
    positions: Mapping[str, float] = field(default_factory=dict)
    last_order_at: Mapping[tuple[str, str], int] = field(default_factory=dict)
    known_models: Mapping[str, Set[str]] = field(default_factory=dict)
    open_notional: float = 0.0
    in_flight: Mapping[str, float] = field(default_factory=dict)
    in_flight_quantity: Mapping[str, float] = field(default_factory=dict)
    min_notional: float = MIN_NOTIONAL


@dataclass(frozen=True)
class OrderIntent:
    """An ``order.requested``, with the policy, strategy, ESS state and model it used.

    ``policy`` is None only for a CLOSE decided while no policy was available (exits are
    never blocked by the control plane).
    """

    order_id: str
    signal_id: str
    account_id: str
    symbol: str
    side: OrderSide
    quantity: float
    price: float
    notional: float
    leverage: float
    reduce_only: bool
    strategy: StrategyName
    policy: PolicyVersion | None
    ess_state: EssState
    ess_version: int
    model_name: str
    model_version: str


@dataclass(frozen=True)
class Accept:
    order: OrderIntent


@dataclass(frozen=True)
class Reject:
    """An ``order.rejected``; ``order_id`` is the id an accepted order would have had."""

    order_id: str
    reason: DenyReason
    detail: str


Decision: TypeAlias = Accept | Reject


def order_id_for(signal_id: str) -> str:
    """The order id of a signal, from the signal id ALONE: a redelivered signal decided
    after equity or price moved must still map to the same order, never a second one."""
    return derived_id("order", signal_id)


def check_signal(signal: Signal) -> None:
    """Refuse a signal no decision can be made from (:class:`InvalidSignalError`)."""
    if not (math.isfinite(signal.confidence) and 0.0 <= signal.confidence <= 1.0):
        raise InvalidSignalError(signal.signal_id, "confidence", signal.confidence, "[0, 1]")
    for name in ("quantity", "notional"):
        value = getattr(signal, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InvalidSignalError(signal.signal_id, name, value, "a finite number > 0")
