"""One trade against one position, as arithmetic: no accounts, no ids, no I/O.

A position is a signed quantity (short < 0) with an average entry price. A trade of signed
size ``delta`` at ``price`` opens, increases (the entry becomes the size-weighted average),
reduces (the closed part realizes ``closed x (price - entry)``, signed by the side), closes,
or flips (a close of the whole position and an open of the rest on the other side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from schemas.enums import OrderSide, PositionSide

# Quantities within a millionth of a percent of each other are the same size: a close
# sized from a position that was averaged in floating point must close it, not leave
# 1e-17 of dust open.
_SAME_SIZE = 1e-8


class FillKind(StrEnum):
    """What a fill did to the position (a metric label, and a log word)."""

    OPENED = "opened"
    INCREASED = "increased"
    REDUCED = "reduced"
    CLOSED = "closed"
    FLIPPED = "flipped"
    NOTHING = "nothing"
    """A reduce-only order with nothing (left) to reduce."""


@dataclass(frozen=True)
class Holding:
    """An open position: signed ``quantity`` (never 0), average entry, last mark."""

    quantity: float
    entry_price: float
    mark_price: float
    leverage: float

    @property
    def side(self) -> PositionSide:
        return PositionSide.LONG if self.quantity > 0 else PositionSide.SHORT

    @property
    def unrealized_pnl(self) -> float:
        return self.quantity * (self.mark_price - self.entry_price)

    def marked(self, price: float) -> Holding:
        return replace(self, mark_price=price)


@dataclass(frozen=True)
class Trade:
    """The outcome of one trade: the position after it, and what was closed and realized."""

    kind: FillKind
    after: Holding | None
    closed: Holding | None
    """The closed part (its quantity is the closed size, signed like the old position)."""
    realized_pnl: float
    executed: float
    """The signed size actually traded (reduce-only orders are clipped to the position)."""


def signed(side: OrderSide, quantity: float) -> float:
    return quantity if side is OrderSide.BUY else -quantity


def executed_size(held: Holding | None, delta: float, *, reduce_only: bool) -> float:
    """``delta``, or for a reduce-only order the part of it that reduces ``held``: never
    an increase, never more than the position (so never a flip)."""
    if not reduce_only:
        return delta
    if held is None or held.quantity * delta >= 0:
        return 0.0
    return math.copysign(min(abs(delta), abs(held.quantity)), delta)


def trade(held: Holding | None, delta: float, price: float, leverage: float) -> Trade:
    """Apply a trade of signed size ``delta`` at ``price`` to ``held``."""
    if delta == 0:
        return Trade(FillKind.NOTHING, held, None, 0.0, 0.0)
    if held is None:
        return Trade(FillKind.OPENED, Holding(delta, price, price, leverage), None, 0.0, delta)
    if held.quantity * delta > 0:
        return _increase(held, delta, price, leverage)
    return _reduce(held, delta, price, leverage)


def _increase(held: Holding, delta: float, price: float, leverage: float) -> Trade:
    size = held.quantity + delta
    entry = (abs(held.quantity) * held.entry_price + abs(delta) * price) / abs(size)
    return Trade(FillKind.INCREASED, Holding(size, entry, price, leverage), None, 0.0, delta)


def _reduce(held: Holding, delta: float, price: float, leverage: float) -> Trade:
    if _same_size(abs(delta), abs(held.quantity)):
        return _close(held, price, executed=-held.quantity)
    if abs(delta) < abs(held.quantity):
        closed = replace(held, quantity=-delta, mark_price=price)
        after = Holding(held.quantity + delta, held.entry_price, price, held.leverage)
        return Trade(FillKind.REDUCED, after, closed, closed.unrealized_pnl, delta)
    flip = _close(held, price, executed=delta)
    opened = Holding(held.quantity + delta, price, price, leverage)
    return replace(flip, kind=FillKind.FLIPPED, after=opened)


def _close(held: Holding, price: float, executed: float) -> Trade:
    closed = held.marked(price)
    return Trade(FillKind.CLOSED, None, closed, closed.unrealized_pnl, executed)


def _same_size(a: float, b: float) -> bool:
    return abs(a - b) <= _SAME_SIZE * max(a, b)
