"""Prices for the simulator: a seeded geometric random walk per symbol, plus scripted gaps.

Each tick multiplies every price by ``exp(volatility x z)`` with ``z`` standard normal — a
random walk of the log price with zero drift — then applies the gaps scripted for that
tick (``-0.12`` takes 12 % off). The same seed, symbols and gaps give the same prices.
Ticks are numbered from 1: tick 1 is the first price the simulator publishes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.simulator.exceptions import InvalidGapError, SimulatorConfigError

DEFAULT_START = 100.0
START_PRICES: Mapping[str, float] = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0}
"""Starting prices of well-known symbols; any other symbol starts at DEFAULT_START."""


@dataclass(frozen=True)
class Gap:
    """At ``tick``, ``symbol``'s price moves by the fraction ``change`` (> -1)."""

    tick: int
    symbol: str
    change: float


def parse_gap(text: str, symbols: Iterable[str] | None = None) -> Gap:
    """``TICK:SYMBOL:CHANGE`` (``50:BTCUSDT:-0.12``), checked part by part; with
    ``symbols``, the symbol must be one of them."""
    parts = text.split(":")
    if len(parts) != 3:  # noqa: PLR2004 - TICK, SYMBOL, CHANGE
        raise InvalidGapError(text, "format", f"has {len(parts)} part(s), needs 3")
    tick_text, symbol, change_text = (part.strip() for part in parts)
    if not tick_text.isdigit() or int(tick_text) < 1:
        raise InvalidGapError(text, "TICK", f"{tick_text!r} is not a whole number >= 1")
    known = None if symbols is None else sorted(symbols)
    if not symbol or (known is not None and symbol not in known):
        allowed = "a symbol" if known is None else f"one of {', '.join(known)}"
        raise InvalidGapError(text, "SYMBOL", f"{symbol!r} is not {allowed}")
    try:
        change = float(change_text)
    except ValueError:
        raise InvalidGapError(text, "CHANGE", f"{change_text!r} is not a number") from None
    if not (math.isfinite(change) and change > -1.0):
        raise InvalidGapError(text, "CHANGE", f"{change_text} must be a fraction > -1")
    return Gap(int(tick_text), symbol, change)


class RandomWalk:
    def __init__(
        self,
        start: Mapping[str, float],
        volatility: float,
        seed: int,
        gaps: Sequence[Gap] = (),
    ) -> None:
        if not start:
            raise SimulatorConfigError("symbols", "", "at least one symbol")
        if not (math.isfinite(volatility) and 0.0 <= volatility < 1.0):
            raise SimulatorConfigError("volatility", volatility, "a fraction in [0, 1)")
        for symbol, price in start.items():
            if not (math.isfinite(price) and price > 0):
                raise SimulatorConfigError(f"start price of {symbol}", price, "a number > 0")
        unknown = sorted({gap.symbol for gap in gaps} - set(start))
        if unknown:
            raise SimulatorConfigError("gap symbol", unknown[0], f"one of {', '.join(start)}")
        self._prices = dict(start)
        self._volatility = volatility
        self._rng = random.Random(f"walk-{seed}")  # noqa: S311 - reproducible, not a secret
        self._gaps = tuple(gaps)
        self.tick = 0

    def add_gap(self, gap: Gap) -> None:
        """Script one more gap, for a tick still to come (a driver that decides a gap's
        moment while the feed runs, as ``hfos demo`` does)."""
        if gap.tick <= self.tick:
            raise SimulatorConfigError("gap tick", gap.tick, f"a tick after {self.tick}")
        if gap.symbol not in self._prices:
            raise SimulatorConfigError(
                "gap symbol", gap.symbol, f"one of {', '.join(self._prices)}"
            )
        self._gaps = (*self._gaps, gap)

    def step(self) -> dict[str, float]:
        """Advance one tick; every symbol's price at it, in the order they were given."""
        self.tick += 1
        for symbol, price in self._prices.items():
            self._prices[symbol] = price * math.exp(self._volatility * self._rng.gauss(0.0, 1.0))
        for gap in self._gaps:
            if gap.tick == self.tick:
                self._prices[gap.symbol] *= 1.0 + gap.change
        return dict(self._prices)


def start_prices(symbols: Sequence[str], overrides: Mapping[str, float]) -> dict[str, float]:
    """Each symbol's starting price: ``overrides``, else a known one, else the default."""
    return {s: overrides.get(s, START_PRICES.get(s, DEFAULT_START)) for s in symbols}
