"""What the position monitor knows, folded from decoded records: no Kafka here.

Positions and equity are the venue's last ``account.updated`` of each account (the highest
sequence applied — one ordered topic, SPEC §1), never the per-kind topics. Prices keep the
last ``MOMENTUM_TICKS`` of each symbol for the exit model's momentum feature.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from streams.monitor.exits import OpenPosition
from streams.monitor.features import MOMENTUM_TICKS


@dataclass
class MonitorBook:
    positions: dict[str, dict[str, OpenPosition]] = field(default_factory=dict)
    """Account -> symbol -> its open position (marked at the latest price seen)."""
    equity: dict[str, float] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    prices: dict[str, deque[float]] = field(default_factory=dict)

    def apply_account_update(self, record: Mapping[str, Any]) -> bool:
        """The venue's whole account after one change; False (ignored) when its sequence
        is not above the last applied (a duplicate, a replay, a stale resend)."""
        account = str(record["account_id"])
        sequence = int(record["sequence"])
        if sequence <= self.sequences.get(account, 0):
            return False
        self.sequences[account] = sequence
        held: dict[str, OpenPosition] = {}
        unrealized = 0.0
        for position in record["positions"]:
            symbol = str(position["symbol"])
            held[symbol] = OpenPosition(
                account_id=account,
                symbol=symbol,
                side=str(position["side"]),
                quantity=float(position["quantity"]),
                entry_price=float(position["entry_price"]),
                mark_price=float(position["mark_price"]),
                leverage=float(position["leverage"]),
            )
            unrealized += float(position["unrealized_pnl"])
        self.positions[account] = held
        equity = record.get("equity")
        wallet = float(record["wallet_balance"])
        self.equity[account] = wallet + unrealized if equity is None else float(equity)
        return True

    def apply_price(self, symbol: str, price: float) -> None:
        recent = self.prices.setdefault(symbol, deque(maxlen=MOMENTUM_TICKS))
        recent.append(price)

    def recent(self, symbol: str) -> list[float]:
        return list(self.prices.get(symbol, ()))

    def marked(self, position: OpenPosition) -> OpenPosition:
        """``position`` marked at the newest price of its symbol, if one was seen."""
        recent = self.prices.get(position.symbol)
        return replace(position, mark_price=recent[-1]) if recent else position

    def of_account(self, account: str) -> list[OpenPosition]:
        return list(self.positions.get(account, {}).values())

    def of_symbol(self, symbol: str) -> list[OpenPosition]:
        return [held[symbol] for held in self.positions.values() if symbol in held]

    def all_open(self) -> list[OpenPosition]:
        return [p for held in self.positions.values() for p in held.values()]
