"""Strategy presets, effective limits and the executor's pure decision (SPEC §5)."""

from streams.strategy.exceptions import InvalidSignalError, StrategyError
from streams.strategy.executor import Refusal, decide, limits_for
from streams.strategy.limits import EffectiveLimits, effective_limits
from streams.strategy.orders import (
    MIN_NOTIONAL,
    Accept,
    Decision,
    DecisionContext,
    OrderIntent,
    Reject,
    Signal,
    check_signal,
    order_id_for,
)
from streams.strategy.presets import DEFAULT_STRATEGY, PRESETS, StrategyPreset

__all__ = [
    "DEFAULT_STRATEGY",
    "MIN_NOTIONAL",
    "PRESETS",
    "Accept",
    "Decision",
    "DecisionContext",
    "EffectiveLimits",
    "InvalidSignalError",
    "OrderIntent",
    "Refusal",
    "Reject",
    "Signal",
    "StrategyError",
    "StrategyPreset",
    "check_signal",
    "decide",
    "effective_limits",
    "limits_for",
    "order_id_for",
]
