"""Rebuilding the book from the exchange's own output, so a restart loses no state.

The book is what the exchange's last ``account.updated`` of each account says: that
snapshot carries the wallet, every open position and the account's sequence, and the
highest sequence wins whatever order the records are read in. The orders the exchange
handled are the FILL snapshots' order ids and the orders it answered on ``order.failed``,
so a replayed order is never filled (or failed) twice. Records another producer wrote to
these topics are not the exchange's book and are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.enums import AccountUpdateReason
from services.exchange.book import PaperBook
from services.exchange.records import PRODUCER, holding_of


def written_by_exchange(record: Mapping[str, Any]) -> bool:
    return bool(record["envelope"]["producer"] == PRODUCER)


@dataclass
class Rebuild:
    """Collects the exchange's records (in any order) and builds the book they describe."""

    accounts: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """Account id -> its snapshot with the highest sequence."""
    filled: set[str] = field(default_factory=set)

    def account_updated(self, record: Mapping[str, Any]) -> None:
        if record["reason"] == AccountUpdateReason.FILL.value and record.get("order_id"):
            self.filled.add(str(record["order_id"]))
        account = str(record["account_id"])
        held = self.accounts.get(account)
        if held is None or int(held["sequence"]) < int(record["sequence"]):
            self.accounts[account] = record

    def order_failed(self, record: Mapping[str, Any]) -> None:
        self.filled.add(str(record["order_id"]))

    def book(self, fee: float) -> PaperBook:
        book = PaperBook(fee)
        for account, snapshot in self.accounts.items():
            book.restore_account(
                account, float(snapshot["wallet_balance"]), int(snapshot["sequence"])
            )
            for position in snapshot["positions"]:
                book.restore_holding(account, str(position["symbol"]), holding_of(position))
        for order_id in self.filled:
            book.restore_filled(order_id)
        return book
