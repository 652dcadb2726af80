"""The strategy presets of SPEC §5, exactly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from schemas.enums import StrategyName


@dataclass(frozen=True)
class StrategyPreset:
    """``position_fraction`` is the fraction of equity one order's notional may use."""

    name: StrategyName
    position_fraction: float
    leverage: float
    min_confidence: float
    cooldown_seconds: int
    max_open_positions: int


DEFAULT_STRATEGY = StrategyName.MODERATE

_TABLE: tuple[tuple[StrategyName, float, float, float, int, int], ...] = (
    # preset                    size  leverage  min conf  cooldown s  max open
    (StrategyName.CONSERVATIVE, 0.02, 5.0, 0.65, 600, 3),
    (StrategyName.MODERATE, 0.05, 10.0, 0.50, 300, 5),
    (StrategyName.AGGRESSIVE, 0.10, 20.0, 0.40, 120, 8),
    (StrategyName.DEFENSIVE, 0.01, 3.0, 0.75, 900, 2),
)

PRESETS: Mapping[StrategyName, StrategyPreset] = MappingProxyType(
    {row[0]: StrategyPreset(*row) for row in _TABLE}
)
