"""Playing a venue in tests: each change of an account is one ``account.updated`` with the
whole account and the account's next sequence, as the paper exchange (and a futures
venue's user-data stream) sends them.

:class:`VenueBook` builds the records without I/O (property tests feed them to the
breaker's core); :class:`Venue` publishes them on the real broker and, like the paper
exchange, also writes the per-kind records (``balance.updated``, ``position.updated``,
``position.closed``) for readers of those topics.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    BALANCE_UPDATED,
    POSITION_CLOSED,
    POSITION_UPDATED,
    TopicNames,
    TopicSpec,
)
from schemas.contracts import contract
from schemas.envelope import envelope
from services.bus.producer import EventProducer

Record = dict[str, Any]
Sent = tuple[TopicSpec, str, Record]
"""(topic, key, record) as a venue publishes it."""


@dataclass
class _Account:
    wallet: float = 0.0
    positions: dict[str, float] = field(default_factory=dict)
    """Symbol -> unrealized PnL of an open position."""
    sequence: int = 0


@dataclass
class VenueBook:
    """The venue's accounts; every change returns the records a venue publishes for it,
    ``account.updated`` first. ``clock`` gives event times (epoch ms)."""

    clock: Iterator[int] = field(default_factory=lambda: itertools.count(1_767_225_600_000))
    producer: str = "test-venue"
    accounts: dict[str, _Account] = field(default_factory=dict)

    def balance(self, account: str, wallet: float, equity: float | None = None) -> list[Sent]:
        held = self._account(account)
        held.wallet = wallet
        at = next(self.clock)
        return [
            self._snapshot(account, "TRANSFER", at, equity),
            (BALANCE_UPDATED, account, self._balance(account, at, equity)),
        ]

    def position(self, account: str, symbol: str, unrealized_pnl: float) -> list[Sent]:
        held = self._account(account)
        held.positions[symbol] = unrealized_pnl
        at = next(self.clock)
        return [
            self._snapshot(account, "MARK", at),
            (POSITION_UPDATED, account, _position(account, symbol, unrealized_pnl, at)),
            (BALANCE_UPDATED, account, self._balance(account, at)),
        ]

    def close(self, account: str, symbol: str, realized_pnl: float) -> list[Sent]:
        held = self._account(account)
        held.positions.pop(symbol, None)
        held.wallet += realized_pnl
        at = next(self.clock)
        return [
            self._snapshot(account, "FILL", at, closed=(symbol, realized_pnl)),
            (POSITION_CLOSED, account, _closed(account, symbol, realized_pnl, at)),
            (BALANCE_UPDATED, account, self._balance(account, at)),
        ]

    def equity(self, account: str) -> float:
        held = self._account(account)
        return held.wallet + sum(held.positions.values())

    def _account(self, account: str) -> _Account:
        return self.accounts.setdefault(account, _Account())

    def _snapshot(
        self,
        account: str,
        reason: str,
        at: int,
        equity: float | None = None,
        closed: tuple[str, float] | None = None,
    ) -> Sent:
        held = self._account(account)
        held.sequence += 1
        record = {
            "envelope": envelope(self.producer, at, event_id=str(uuid.uuid4())),
            "account_id": account,
            "sequence": held.sequence,
            "reason": reason,
            "wallet_balance": held.wallet,
            "equity": equity,
            "positions": [_open(symbol, pnl) for symbol, pnl in sorted(held.positions.items())],
            "closed": [] if closed is None else [_closed_position(*closed)],
            "order_id": None,
        }
        return ACCOUNT_UPDATED, account, record

    def _balance(self, account: str, at: int, equity: float | None = None) -> Record:
        held = self._account(account)
        return {
            "envelope": envelope(self.producer, at, event_id=str(uuid.uuid4())),
            "account_id": account,
            "wallet_balance": held.wallet,
            "equity": equity,
        }


def _open(symbol: str, unrealized_pnl: float) -> Record:
    """One unit long, entered high enough that the mark stays above 0 at any PnL."""
    entry = 100.0 + abs(unrealized_pnl)
    return {
        "symbol": symbol,
        "side": "LONG",
        "quantity": 1.0,
        "entry_price": entry,
        "mark_price": entry + unrealized_pnl,
        "unrealized_pnl": unrealized_pnl,
        "leverage": 1.0,
    }


def _position(account: str, symbol: str, unrealized_pnl: float, at: int) -> Record:
    return {
        "envelope": envelope("test-venue", at, event_id=str(uuid.uuid4())),
        "account_id": account,
        **_open(symbol, unrealized_pnl),
    }


def _closed_position(symbol: str, realized_pnl: float) -> Record:
    entry = 100.0 + abs(realized_pnl)
    return {
        "symbol": symbol,
        "side": "LONG",
        "quantity": 1.0,
        "entry_price": entry,
        "exit_price": entry + realized_pnl,
        "realized_pnl": realized_pnl,
        "exit_reason": "SIGNAL",
    }


def _closed(account: str, symbol: str, realized_pnl: float, at: int) -> Record:
    return {
        "envelope": envelope("test-venue", at, event_id=str(uuid.uuid4())),
        "account_id": account,
        **_closed_position(symbol, realized_pnl),
        "order_id": None,
    }


def wall_clock() -> Iterator[int]:
    """Event times from the wall clock, strictly increasing (two changes in one
    millisecond get consecutive times, as a venue's sequence orders them anyway)."""
    last = 0
    while True:
        last = max(last + 1, int(time.time() * 1000))
        yield last


class Venue:
    """A :class:`VenueBook` on the broker: each change is published and acknowledged
    before the call returns, unless ``flush=False``."""

    def __init__(self, producer: EventProducer, names: TopicNames) -> None:
        self.producer, self.names = producer, names
        self.book = VenueBook(clock=wall_clock())

    def balance(
        self, account: str, wallet: float, equity: float | None = None, *, flush: bool = True
    ) -> Record:
        return self._publish(self.book.balance(account, wallet, equity), flush)

    def position(
        self, account: str, symbol: str, unrealized_pnl: float, *, flush: bool = True
    ) -> Record:
        return self._publish(self.book.position(account, symbol, unrealized_pnl), flush)

    def close(
        self, account: str, symbol: str, realized_pnl: float, *, flush: bool = True
    ) -> Record:
        return self._publish(self.book.close(account, symbol, realized_pnl), flush)

    def resend(self, snapshot: Record) -> None:
        """Publish an ``account.updated`` again as it was (a duplicate, a stale resend)."""
        self.producer.send(contract(ACCOUNT_UPDATED, self.names), snapshot["account_id"], snapshot)
        self.flush()

    def flush(self) -> None:
        if self.producer.flush(30):
            raise AssertionError("venue records not acknowledged within 30 s")

    def _publish(self, sent: list[Sent], flush: bool) -> Record:
        for spec, key, record in sent:
            self.producer.send(contract(spec, self.names), key, record)
        if flush:
            self.flush()
        return sent[0][2]
