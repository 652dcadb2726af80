"""The breaker's inputs, decoded from their topics by the stream binding.

Times are epoch milliseconds (UTC), the Avro ``timestamp-millis`` value of ``event_time``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias

from streams.drawdown.exceptions import InvalidEventError


@dataclass(frozen=True)
class PositionUpdated:
    """``position.updated``: the unrealized PnL of one open position."""

    event_id: str
    event_time: int
    account_id: str
    symbol: str
    unrealized_pnl: float


@dataclass(frozen=True)
class PositionClosed:
    """``position.closed``: the position is gone; its PnL is realized."""

    event_id: str
    event_time: int
    account_id: str
    symbol: str
    realized_pnl: float


@dataclass(frozen=True)
class BalanceUpdated:
    """``balance.updated``; ``equity`` is the venue's own figure when it reports one."""

    event_id: str
    event_time: int
    account_id: str
    wallet_balance: float
    equity: float | None = None


@dataclass(frozen=True)
class Reset:
    """``risk.circuit_breaker.reset``: an operator ends ``episode``."""

    event_id: str
    event_time: int
    account_id: str
    episode: int
    by: str
    reason: str
    rebase_peak: bool = False


DrawdownEvent: TypeAlias = PositionUpdated | PositionClosed | BalanceUpdated | Reset

_NUMBERS = ("unrealized_pnl", "realized_pnl", "wallet_balance", "equity")


def check_event(event: DrawdownEvent) -> None:
    """Refuse NaN/infinite money and negative times (:class:`InvalidEventError`)."""
    if event.event_time < 0:
        raise InvalidEventError(event.event_id, "event_time", event.event_time)
    for name in _NUMBERS:
        value = getattr(event, name, None)
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidEventError(event.event_id, name, value)
