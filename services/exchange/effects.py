"""What the paper book decides: one small dataclass per output topic, and their ids.

Every id is derived from its cause (``schemas.ids``): a fill's from the order id, a
revaluation's from the account, the symbol and the price event's id, a funding from the
account. A replayed order or price therefore yields the same ids. Each change of an
account also yields one :class:`AccountSnapshot` (``account.updated``) with the account's
next sequence number, which is what the breaker, the executor and the exchange's own
rebuild read an account by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from schemas.enums import AccountUpdateReason, ExecutionFailure, ExitReason, PositionSide
from schemas.ids import derived_id
from services.exchange.trade import Holding


@dataclass(frozen=True)
class PositionUpdate:
    """A ``position.updated``: an open position after a fill or a revaluation."""

    event_id: str
    account_id: str
    symbol: str
    side: PositionSide
    quantity: float
    entry_price: float
    mark_price: float
    unrealized_pnl: float
    leverage: float


@dataclass(frozen=True)
class PositionClose:
    """A ``position.closed``; ``realized_pnl`` is net of the fee on the closed quantity, so
    that for a plain close wallet + realized is exactly the wallet the balance reports."""

    event_id: str
    account_id: str
    symbol: str
    side: PositionSide
    quantity: float
    entry_price: float
    exit_price: float
    realized_pnl: float
    exit_reason: ExitReason
    order_id: str | None


@dataclass(frozen=True)
class BalanceUpdate:
    """A ``balance.updated`` with the equity given explicitly (wallet + unrealized PnL).

    ``order_id`` is set when a fill caused it: every accepted order yields exactly one such
    balance, which is how a restarted exchange knows which orders it already filled.
    """

    event_id: str
    account_id: str
    wallet_balance: float
    equity: float
    order_id: str | None = None


@dataclass(frozen=True)
class AccountSnapshot:
    """An ``account.updated``: the whole account after one change, numbered.

    ``positions`` holds every open position after the change (symbol, holding), sorted
    by symbol; ``closed`` what this change closed; ``order_id`` the order a FILL executed.
    """

    event_id: str
    account_id: str
    sequence: int
    reason: AccountUpdateReason
    wallet_balance: float
    equity: float
    positions: tuple[tuple[str, Holding], ...]
    closed: tuple[PositionClose, ...] = ()
    order_id: str | None = None


Effect: TypeAlias = PositionUpdate | PositionClose | BalanceUpdate | AccountSnapshot


@dataclass(frozen=True)
class OrderFailure:
    """An ``order.failed``: an order the exchange could not execute. Not a book effect —
    it changes no position or balance — but the emergency stop counts it (SPEC §4)."""

    event_id: str
    account_id: str
    order_id: str
    symbol: str
    reason: ExecutionFailure
    detail: str


def fill_position_id(order_id: str) -> str:
    return derived_id("exchange.fill.position", order_id)


def fill_closed_id(order_id: str) -> str:
    return derived_id("exchange.fill.closed", order_id)


def fill_balance_id(order_id: str) -> str:
    return derived_id("exchange.fill.balance", order_id)


def mark_position_id(account_id: str, symbol: str, price_event_id: str) -> str:
    return derived_id("exchange.mark.position", account_id, symbol, price_event_id)


def mark_balance_id(account_id: str, symbol: str, price_event_id: str) -> str:
    return derived_id("exchange.mark.balance", account_id, symbol, price_event_id)


def fill_account_id(order_id: str) -> str:
    return derived_id("exchange.fill.account", order_id)


def mark_account_id(account_id: str, price_event_id: str) -> str:
    return derived_id("exchange.mark.account", account_id, price_event_id)


def funding_account_id(account_id: str) -> str:
    return derived_id("exchange.funding.account", account_id)


def failure_id(order_id: str) -> str:
    return derived_id("exchange.order.failed", order_id)


def funding_id(account_id: str) -> str:
    return derived_id("exchange.funding", account_id)
