"""Effective limits: always the stricter of the strategy preset and the risk profile(s).

A strategy can never loosen policy (SPEC §5), and under COOLING_DOWN the executor passes
the defensive profile as a second profile, so "trading under the defensive profile" is
the same min/max rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.enums import StrategyName
from streams.policy import RiskProfile
from streams.strategy.presets import StrategyPreset


@dataclass(frozen=True)
class EffectiveLimits:
    """What one decision is held to.

    ``position_fraction`` = min(preset size, every profile's ``max_risk_per_trade``): with
    no stop price in a signal, the whole notional is treated as the amount at risk, so the
    conservative reading bounds the notional itself. ``position_size_cap`` is money.
    """

    strategy: StrategyName
    position_fraction: float
    position_size_cap: float
    leverage: float
    min_confidence: float
    cooldown_seconds: int
    max_open_positions: int
    allow_new_positions: bool

    def max_notional(self, equity: float) -> float:
        """The largest notional one order may have at ``equity`` (0 when equity <= 0)."""
        return max(0.0, min(equity * self.position_fraction, self.position_size_cap))


def effective_limits(preset: StrategyPreset, *profiles: RiskProfile) -> EffectiveLimits:
    """The stricter value of every limit over ``preset`` and ``profiles`` (at least one)."""
    if not profiles:
        raise TypeError("effective_limits needs at least one risk profile")
    return EffectiveLimits(
        strategy=preset.name,
        position_fraction=min(preset.position_fraction, *(p.max_risk_per_trade for p in profiles)),
        position_size_cap=min(p.position_size_cap for p in profiles),
        leverage=min(preset.leverage, *(p.max_leverage for p in profiles)),
        min_confidence=max(preset.min_confidence, *(p.min_confidence for p in profiles)),
        cooldown_seconds=preset.cooldown_seconds,
        max_open_positions=min(
            preset.max_open_positions, *(p.max_open_positions for p in profiles)
        ),
        allow_new_positions=all(p.allow_new_positions for p in profiles),
    )
