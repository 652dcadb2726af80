"""What the exit model sees of one open position: one row of numbers, always the same way.

The builder (``hfos model build``) and the position monitor both call :func:`row`, so a
model is trained on exactly the features it is later fed.
"""

from __future__ import annotations

from collections.abc import Sequence

FEATURES = (
    "return_on_position",
    "leverage",
    "leveraged_return",
    "abs_leveraged_return",
    "momentum",
)
"""Column order of the exit model's input (``FEATURE_COUNT`` float32 columns).

- ``return_on_position``: the price move in the position's favour since entry, a fraction;
- ``leverage``: the position's leverage;
- ``leveraged_return``: the two multiplied — what the move did to the margin;
- ``abs_leveraged_return``: its size, so that a linear model can cut on both sides
  (a stop-loss and a take-profit at different distances);
- ``momentum``: the move in the position's favour over the last ``MOMENTUM_TICKS`` prices.
"""

FEATURE_COUNT = len(FEATURES)

MOMENTUM_TICKS = 10
"""Prices of a symbol the monitor keeps for ``momentum``: 10 ticks is 5 s at the
simulator's default 0.5 s tick."""


def row(
    direction: float, entry: float, mark: float, leverage: float, recent: Sequence[float]
) -> tuple[float, ...]:
    """The features of a position. ``direction`` is +1 for a long, -1 for a short;
    ``recent`` the symbol's last prices, oldest first (fewer than two: no momentum)."""
    moved = direction * (mark / entry - 1.0) if entry > 0 else 0.0
    levered = moved * leverage
    momentum = 0.0
    if len(recent) >= 2 and recent[0] > 0:  # noqa: PLR2004 - a move needs two prices
        momentum = direction * (recent[-1] / recent[0] - 1.0)
    return (moved, leverage, levered, abs(levered), momentum)
