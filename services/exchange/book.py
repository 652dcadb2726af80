"""The paper book: every account's wallet and positions, and what fills and prices do to
them. Pure — no Kafka, no clock — so the service replays it and tests drive it directly.

- A fill trades the order's size at the given price (reduce-only orders are clipped so
  they never increase or flip a position) and yields, in this order: ``position.closed``
  (when a position closed or flipped), ``position.updated`` (when one is open after it),
  exactly one ``balance.updated`` with the wallet and the equity, and the account's
  ``account.updated`` snapshot. A reduce-only order with nothing to reduce is not a fill:
  :class:`NothingToReduceError`, which the service answers on ``order.failed``.
- A fee (a fraction of the traded notional, default 0) is taken from the wallet.
- A revaluation marks every position in the symbol at the new price and yields its
  ``position.updated``, the account's ``balance.updated`` and its snapshot.
- Equity = wallet + the unrealized PnL of every open position at its last mark.
- Every change of an account numbers its snapshot with the account's next sequence (1,
  2, ...), the venue's order of its changes (SPEC §1, delivery order).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from schemas.enums import AccountUpdateReason, ExitReason, OrderSide
from services.exchange.effects import (
    AccountSnapshot,
    BalanceUpdate,
    Effect,
    PositionClose,
    PositionUpdate,
    fill_account_id,
    fill_balance_id,
    fill_closed_id,
    fill_position_id,
    funding_account_id,
    funding_id,
    mark_account_id,
    mark_balance_id,
    mark_position_id,
)
from services.exchange.exceptions import (
    BookConfigError,
    DuplicateOrderError,
    InvalidOrderError,
    InvalidPriceError,
    NothingToReduceError,
    UnknownAccountError,
)
from services.exchange.trade import FillKind, Holding, Trade, executed_size, signed, trade


@dataclass(frozen=True)
class Order:
    """What the book needs of an ``order.requested``; ``price`` is what it was sized at."""

    order_id: str
    account_id: str
    symbol: str
    side: OrderSide
    quantity: float
    price: float
    leverage: float
    reduce_only: bool


@dataclass(frozen=True)
class Fill:
    """The outcome of one order: what it did, at what price, and the events to publish."""

    order: Order
    price: float
    kind: FillKind
    executed: float
    fee: float
    effects: tuple[Effect, ...]


@dataclass
class _Account:
    wallet: float
    holdings: dict[str, Holding] = field(default_factory=dict)
    sequence: int = 0
    """The sequence of the account's last snapshot (0: none yet)."""

    def equity(self) -> float:
        return self.wallet + sum(h.unrealized_pnl for h in self.holdings.values())

    def snapshot(
        self,
        event_id: str,
        account_id: str,
        reason: AccountUpdateReason,
        closed: tuple[PositionClose, ...] = (),
        order_id: str | None = None,
    ) -> AccountSnapshot:
        """The account as it is now, under its next sequence number."""
        self.sequence += 1
        return AccountSnapshot(
            event_id=event_id,
            account_id=account_id,
            sequence=self.sequence,
            reason=reason,
            wallet_balance=self.wallet,
            equity=self.equity(),
            positions=tuple(sorted(self.holdings.items())),
            closed=closed,
            order_id=order_id,
        )


_CLOSING = frozenset({FillKind.CLOSED, FillKind.FLIPPED})
"""Fills that end a position. A partial reduce keeps it open: its realized PnL shows in the
wallet of the balance, and the position's update shows the smaller size."""


class PaperBook:
    def __init__(self, fee: float = 0.0) -> None:
        if not (math.isfinite(fee) and 0.0 <= fee < 1.0):
            raise BookConfigError("fee", fee, "a fraction in [0, 1)")
        self.fee = fee
        self._accounts: dict[str, _Account] = {}
        self._filled: set[str] = set()
        self._prices: dict[str, float] = {}

    # -- queries ------------------------------------------------------------------------

    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted(self._accounts))

    def wallet(self, account_id: str) -> float:
        return self._account(account_id).wallet

    def equity(self, account_id: str) -> float:
        return self._account(account_id).equity()

    def holding(self, account_id: str, symbol: str) -> Holding | None:
        return self._account(account_id).holdings.get(symbol)

    def price(self, symbol: str) -> float | None:
        """The last market price seen for ``symbol`` (None before the first)."""
        return self._prices.get(symbol)

    def open_positions(self) -> int:
        return sum(len(account.holdings) for account in self._accounts.values())

    def is_filled(self, order_id: str) -> bool:
        return order_id in self._filled

    def copy(self) -> PaperBook:
        """An independent snapshot (to roll back to when a transaction aborts)."""
        return copy.deepcopy(self)

    # -- changes ------------------------------------------------------------------------

    def fund(self, account_id: str, amount: float) -> list[Effect]:
        """Open ``account_id`` with ``amount`` in its wallet; nothing if it exists."""
        if not (math.isfinite(amount) and amount > 0):
            raise BookConfigError("initial balance", amount, "a finite amount > 0")
        if account_id in self._accounts:
            return []
        account = self._accounts[account_id] = _Account(amount)
        snapshot = account.snapshot(
            funding_account_id(account_id), account_id, AccountUpdateReason.FUNDING
        )
        return [BalanceUpdate(funding_id(account_id), account_id, amount, amount), snapshot]

    def fill(self, order: Order, price: float) -> Fill:
        """Fill ``order`` at ``price``; :class:`NothingToReduceError` for a reduce-only
        order the account has nothing to reduce for (the order counts as handled)."""
        _check_order(order)
        _check_price(order.symbol, price)
        if order.order_id in self._filled:
            raise DuplicateOrderError(order.order_id)
        if order.account_id not in self._accounts:
            raise UnknownAccountError(order.account_id, order.order_id)
        account = self._accounts[order.account_id]
        held = account.holdings.get(order.symbol)
        delta = executed_size(
            held, signed(order.side, order.quantity), reduce_only=order.reduce_only
        )
        if delta == 0:
            self._filled.add(order.order_id)
            raise NothingToReduceError(order.order_id, order.account_id, order.symbol)
        done = trade(held, delta, price, order.leverage)
        fee = abs(done.executed) * price * self.fee
        account.wallet += done.realized_pnl - fee
        if done.after is None:
            account.holdings.pop(order.symbol, None)
        else:
            account.holdings[order.symbol] = done.after
        self._filled.add(order.order_id)
        effects = self._fill_effects(order, account, done, price)
        return Fill(order, price, done.kind, done.executed, fee, tuple(effects))

    def revalue(self, symbol: str, price: float, price_event_id: str) -> list[Effect]:
        """Mark every position in ``symbol`` at ``price``."""
        _check_price(symbol, price)
        self._prices[symbol] = price
        effects: list[Effect] = []
        for account_id in self.accounts():
            account = self._accounts[account_id]
            held = account.holdings.get(symbol)
            if held is None:
                continue
            account.holdings[symbol] = held.marked(price)
            position_id = mark_position_id(account_id, symbol, price_event_id)
            balance_id = mark_balance_id(account_id, symbol, price_event_id)
            effects.append(_position(position_id, account_id, symbol, account.holdings[symbol]))
            effects.append(BalanceUpdate(balance_id, account_id, account.wallet, account.equity()))
            snapshot_id = mark_account_id(account_id, price_event_id)
            effects.append(account.snapshot(snapshot_id, account_id, AccountUpdateReason.MARK))
        return effects

    # -- rebuilding from the exchange's own output ------------------------------------------

    def restore_account(self, account_id: str, wallet: float, sequence: int) -> None:
        """Put back an account as its last snapshot left it (holdings follow)."""
        account = self._accounts.setdefault(account_id, _Account(wallet))
        account.wallet, account.sequence = wallet, sequence

    def restore_holding(self, account_id: str, symbol: str, held: Holding) -> None:
        """Put back an open position (its account must be restored first)."""
        self._account(account_id).holdings[symbol] = held
        self._prices.setdefault(symbol, held.mark_price)

    def restore_filled(self, order_id: str) -> None:
        self._filled.add(order_id)

    # -- helpers --------------------------------------------------------------------------

    def _account(self, account_id: str) -> _Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise UnknownAccountError(account_id, "-") from None

    def _fill_effects(
        self, order: Order, account: _Account, done: Trade, price: float
    ) -> list[Effect]:
        effects: list[Effect] = []
        closed: tuple[PositionClose, ...] = ()
        if done.closed is not None and done.kind in _CLOSING:
            fee = abs(done.closed.quantity) * price * self.fee
            closed = (_closed(order, done.closed, done.realized_pnl - fee, price),)
            effects.extend(closed)
        if done.after is not None:
            position_id = fill_position_id(order.order_id)
            effects.append(_position(position_id, order.account_id, order.symbol, done.after))
        balance_id = fill_balance_id(order.order_id)
        effects.append(
            BalanceUpdate(
                balance_id, order.account_id, account.wallet, account.equity(), order.order_id
            )
        )
        snapshot_id = fill_account_id(order.order_id)
        reason = AccountUpdateReason.FILL
        effects.append(
            account.snapshot(snapshot_id, order.account_id, reason, closed, order.order_id)
        )
        return effects


def _position(event_id: str, account_id: str, symbol: str, held: Holding) -> PositionUpdate:
    return PositionUpdate(
        event_id=event_id,
        account_id=account_id,
        symbol=symbol,
        side=held.side,
        quantity=abs(held.quantity),
        entry_price=held.entry_price,
        mark_price=held.mark_price,
        unrealized_pnl=held.unrealized_pnl,
        leverage=held.leverage,
    )


def _closed(order: Order, closed: Holding, realized: float, price: float) -> PositionClose:
    return PositionClose(
        event_id=fill_closed_id(order.order_id),
        account_id=order.account_id,
        symbol=order.symbol,
        side=closed.side,
        quantity=abs(closed.quantity),
        entry_price=closed.entry_price,
        exit_price=price,
        realized_pnl=realized,
        exit_reason=ExitReason.SIGNAL,
        order_id=order.order_id,
    )


def _check_price(symbol: str, price: float) -> None:
    if not (math.isfinite(price) and price > 0):
        raise InvalidPriceError(symbol, price)


def _check_order(order: Order) -> None:
    for name in ("quantity", "price", "leverage"):
        value = getattr(order, name)
        if not (math.isfinite(value) and value > 0):
            raise InvalidOrderError(order.order_id, name, value, "a finite number > 0")
