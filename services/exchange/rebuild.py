"""Rebuilding the book from the exchange's own output, so a restart loses no state.

The exchange numbers every record it writes (header :data:`SEQ_HEADER`, one counter over
all of its topics), because a position's latest state is spread over two topics —
``position.updated`` and ``position.closed`` — and Kafka orders records only within one
partition of one topic. The record with the highest number per (account, symbol) says
whether the position is open; the highest per account gives the wallet. A fill's balance
also carries the order id (header :data:`ORDER_HEADER`), so the set of filled orders is
rebuilt too and a replayed order is never filled twice. Records without the header were
not written by the exchange and are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.enums import PositionSide
from services.exchange.book import PaperBook
from services.exchange.trade import Holding

SEQ_HEADER = "hfos.exchange.seq"
ORDER_HEADER = "hfos.exchange.order"

Headers = Sequence[tuple[str, bytes | None]]


def header(headers: Headers, name: str) -> str | None:
    """The last value of header ``name`` as text, or None."""
    found = [value for key, value in headers if key == name and value is not None]
    return found[-1].decode(errors="replace") if found else None


def seq_of(headers: Headers) -> int | None:
    text = header(headers, SEQ_HEADER)
    return int(text) if text is not None and text.isdigit() else None


@dataclass
class Rebuild:
    """Collects the exchange's records (in any order) and builds the book they describe."""

    positions: dict[tuple[str, str], tuple[int, Holding | None]] = field(default_factory=dict)
    wallets: dict[str, tuple[int, float]] = field(default_factory=dict)
    filled: set[str] = field(default_factory=set)
    last_seq: int = -1

    def position_updated(self, record: Mapping[str, Any], seq: int) -> None:
        sign = 1.0 if record["side"] == PositionSide.LONG.value else -1.0
        held = Holding(
            quantity=sign * float(record["quantity"]),
            entry_price=float(record["entry_price"]),
            mark_price=float(record["mark_price"]),
            leverage=float(record["leverage"]),
        )
        self._position(record, seq, held)

    def position_closed(self, record: Mapping[str, Any], seq: int) -> None:
        self._position(record, seq, None)

    def balance_updated(self, record: Mapping[str, Any], seq: int, order_id: str | None) -> None:
        self._seen(seq)
        if order_id is not None:
            self.filled.add(order_id)
        account = str(record["account_id"])
        held = self.wallets.get(account)
        if held is None or held[0] < seq:
            self.wallets[account] = (seq, float(record["wallet_balance"]))

    def book(self, fee: float) -> PaperBook:
        book = PaperBook(fee)
        for account, (_, wallet) in self.wallets.items():
            book.restore_wallet(account, wallet)
        for (account, symbol), (_, held) in self.positions.items():
            if held is None:
                continue
            if account not in self.wallets:
                book.restore_wallet(account, 0.0)  # unreachable: every fill writes a balance
            book.restore_holding(account, symbol, held)
        for order_id in self.filled:
            book.restore_filled(order_id)
        return book

    @property
    def next_seq(self) -> int:
        return self.last_seq + 1

    def _position(self, record: Mapping[str, Any], seq: int, held: Holding | None) -> None:
        self._seen(seq)
        key = (str(record["account_id"]), str(record["symbol"]))
        current = self.positions.get(key)
        if current is None or current[0] < seq:
            self.positions[key] = (seq, held)

    def _seen(self, seq: int) -> None:
        self.last_seq = max(self.last_seq, seq)
