"""The breaker's inputs, decoded from their topics by the stream binding.

Times are epoch milliseconds (UTC), the Avro ``timestamp-millis`` value of ``event_time``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from streams.drawdown.exceptions import InvalidEventError


@dataclass(frozen=True)
class AccountUpdate:
    """``account.updated``: the venue's whole account after one change.

    ``positions`` maps each open position's symbol to its unrealized PnL; a symbol not in
    it is closed. ``sequence`` is the venue's number of the change, strictly increasing
    per account: the breaker applies an update only when it is above the last it applied.
    """

    event_id: str
    event_time: int
    account_id: str
    sequence: int
    wallet_balance: float
    equity: float | None = None
    positions: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Reset:
    """``risk.circuit_breaker.reset``: an operator ends ``episode``.

    ``offset`` is the record's Kafka offset: an account's resets are on one partition in
    order, so the breaker applies each reset once by keeping the offset of the last one
    it read — even a reset that changed nothing (its episode had not tripped yet), which
    a replay after a crash must not turn into the end of an episode tripped since.
    """

    event_id: str
    event_time: int
    account_id: str
    episode: int
    by: str
    reason: str
    rebase_peak: bool = False
    offset: int = 0


DrawdownEvent: TypeAlias = AccountUpdate | Reset


def check_event(event: DrawdownEvent) -> None:
    """Refuse NaN/infinite money, negative times and sequences (:class:`InvalidEventError`)."""
    if event.event_time < 0:
        raise InvalidEventError(event.event_id, "event_time", event.event_time)
    if not isinstance(event, AccountUpdate):
        return
    if event.sequence < 1:
        raise InvalidEventError(event.event_id, "sequence", event.sequence)
    money = {"wallet_balance": event.wallet_balance, "equity": event.equity}
    money.update({f"positions.{symbol}": pnl for symbol, pnl in event.positions.items()})
    for name, value in money.items():
        if value is not None and not math.isfinite(value):
            raise InvalidEventError(event.event_id, name, value)
