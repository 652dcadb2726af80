"""The paper book on its own: what fills and prices do to wallets, positions and equity."""

from __future__ import annotations

import itertools

import pytest

from schemas.enums import AccountUpdateReason, ExitReason, OrderSide, PositionSide
from services.exchange import (
    BalanceUpdate,
    FillKind,
    Order,
    PaperBook,
    PositionClose,
    PositionUpdate,
)
from services.exchange.effects import (
    AccountSnapshot,
    fill_balance_id,
    funding_id,
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

_ids = itertools.count(1)


def order(
    side: OrderSide,
    quantity: float,
    *,
    symbol: str = "BTC",
    account: str = "acc",
    reduce_only: bool = False,
    leverage: float = 5.0,
    order_id: str | None = None,
) -> Order:
    return Order(
        order_id=order_id or f"o-{next(_ids)}",
        account_id=account,
        symbol=symbol,
        side=side,
        quantity=quantity,
        price=100.0,
        leverage=leverage,
        reduce_only=reduce_only,
    )


def funded(balance: float = 10_000.0, fee: float = 0.0) -> PaperBook:
    book = PaperBook(fee)
    book.fund("acc", balance)
    return book


def of_type(effects: object, kind: type) -> list[object]:
    return [e for e in effects if isinstance(e, kind)]  # type: ignore[attr-defined]


def test_fund_when_new_account_then_one_balance_with_equity_and_second_fund_does_nothing() -> None:
    book = PaperBook()

    first = book.fund("acc", 10_000.0)
    second = book.fund("acc", 5_000.0)

    balance, snapshot = first
    assert balance == BalanceUpdate(funding_id("acc"), "acc", 10_000.0, 10_000.0)
    assert isinstance(snapshot, AccountSnapshot)
    assert (snapshot.sequence, snapshot.reason, snapshot.positions) == (
        1,
        AccountUpdateReason.FUNDING,
        (),
    )
    assert second == []
    assert book.wallet("acc") == 10_000.0


def test_fill_when_flat_then_position_opened_and_balance_carries_order_id() -> None:
    book = funded()
    buy = order(OrderSide.BUY, 2.0)

    fill = book.fill(buy, 100.0)

    assert fill.kind is FillKind.OPENED
    position, balance, snapshot = fill.effects
    assert isinstance(position, PositionUpdate)
    assert (position.side, position.quantity, position.entry_price) == (
        PositionSide.LONG,
        2.0,
        100.0,
    )
    assert (position.unrealized_pnl, position.leverage) == (0.0, 5.0)
    assert balance == BalanceUpdate(
        fill_balance_id(buy.order_id), "acc", 10_000.0, 10_000.0, buy.order_id
    )
    assert isinstance(snapshot, AccountSnapshot)
    assert (snapshot.sequence, snapshot.order_id, snapshot.reason) == (
        2,
        buy.order_id,
        AccountUpdateReason.FILL,
    )
    assert [symbol for symbol, _ in snapshot.positions] == ["BTC"]


def test_fill_when_increasing_then_entry_is_size_weighted_average() -> None:
    book = funded()
    book.fill(order(OrderSide.SELL, 1.0), 100.0)

    fill = book.fill(order(OrderSide.SELL, 3.0), 120.0)

    held = book.holding("acc", "BTC")
    assert fill.kind is FillKind.INCREASED
    assert held is not None
    assert held.quantity == -4.0
    assert held.entry_price == pytest.approx(115.0)
    assert held.unrealized_pnl == pytest.approx(-4.0 * (120.0 - 115.0))


def test_fill_when_closing_then_position_closed_realizes_pnl_into_wallet_and_equity() -> None:
    book = funded()
    book.fill(order(OrderSide.BUY, 2.0), 100.0)

    fill = book.fill(order(OrderSide.SELL, 2.0, reduce_only=True), 110.0)

    assert fill.kind is FillKind.CLOSED
    closed, balance, snapshot = fill.effects
    assert isinstance(closed, PositionClose)
    assert (closed.side, closed.quantity, closed.exit_price) == (PositionSide.LONG, 2.0, 110.0)
    assert closed.realized_pnl == pytest.approx(20.0)
    assert closed.exit_reason is ExitReason.SIGNAL
    assert closed.order_id == fill.order.order_id
    assert isinstance(balance, BalanceUpdate)
    assert balance.wallet_balance == pytest.approx(10_020.0)
    assert balance.equity == pytest.approx(10_020.0)
    assert book.holding("acc", "BTC") is None
    assert isinstance(snapshot, AccountSnapshot)
    assert (snapshot.positions, snapshot.closed) == ((), (closed,))
    assert snapshot.wallet_balance == pytest.approx(10_020.0)


def test_fill_when_reducing_part_then_no_close_and_wallet_gets_realized_part() -> None:
    book = funded()
    book.fill(order(OrderSide.SELL, 4.0), 100.0)

    fill = book.fill(order(OrderSide.BUY, 1.0), 90.0)

    assert fill.kind is FillKind.REDUCED
    assert of_type(fill.effects, PositionClose) == []
    [position] = of_type(fill.effects, PositionUpdate)
    assert isinstance(position, PositionUpdate)
    assert (position.side, position.quantity, position.entry_price) == (
        PositionSide.SHORT,
        3.0,
        100.0,
    )
    assert book.wallet("acc") == pytest.approx(10_010.0)
    assert book.equity("acc") == pytest.approx(10_040.0)


def test_fill_when_order_exceeds_position_then_flip_is_close_then_open_at_fill_price() -> None:
    book = funded()
    book.fill(order(OrderSide.BUY, 1.0), 100.0)

    fill = book.fill(order(OrderSide.SELL, 3.0, leverage=2.0), 90.0)

    assert fill.kind is FillKind.FLIPPED
    closed, opened, balance, _snapshot = fill.effects
    assert isinstance(closed, PositionClose)
    assert isinstance(opened, PositionUpdate)
    assert isinstance(balance, BalanceUpdate)
    assert (closed.side, closed.quantity, closed.realized_pnl) == (PositionSide.LONG, 1.0, -10.0)
    assert (opened.side, opened.quantity, opened.entry_price) == (PositionSide.SHORT, 2.0, 90.0)
    assert opened.leverage == 2.0
    assert balance.wallet_balance == pytest.approx(9_990.0)


@pytest.mark.parametrize(("held", "side"), [(0.0, OrderSide.SELL), (2.0, OrderSide.BUY)])
def test_fill_when_reduce_only_cannot_reduce_then_refused_as_nothing_to_reduce_and_handled(
    held: float, side: OrderSide
) -> None:
    """Issue 12.4: such an order is answered (order.failed), never reported as a fill."""
    book = funded()
    if held:
        book.fill(order(OrderSide.BUY, held), 100.0)
    reduce = order(side, 1.0, reduce_only=True)

    with pytest.raises(NothingToReduceError):
        book.fill(reduce, 105.0)

    assert book.is_filled(reduce.order_id)
    position = book.holding("acc", "BTC")
    assert (position.quantity if position else 0.0) == held


def test_fill_when_reduce_only_larger_than_position_then_clipped_to_a_close_not_a_flip() -> None:
    book = funded()
    book.fill(order(OrderSide.SELL, 2.0), 100.0)

    fill = book.fill(order(OrderSide.BUY, 5.0, reduce_only=True), 95.0)

    assert fill.kind is FillKind.CLOSED
    assert fill.executed == 2.0
    assert book.holding("acc", "BTC") is None
    assert book.wallet("acc") == pytest.approx(10_010.0)


def test_fill_when_fee_set_then_fee_taken_on_notional_and_close_pnl_is_net_of_its_fee() -> None:
    book = funded(fee=0.001)
    book.fill(order(OrderSide.BUY, 2.0), 100.0)

    fill = book.fill(order(OrderSide.SELL, 2.0), 110.0)

    closed = of_type(fill.effects, PositionClose)[0]
    assert isinstance(closed, PositionClose)
    assert fill.fee == pytest.approx(0.22)
    assert closed.realized_pnl == pytest.approx(20.0 - 0.22)
    assert book.wallet("acc") == pytest.approx(10_000.0 - 0.2 + 20.0 - 0.22)


def test_fill_when_order_id_seen_before_then_refused_as_duplicate() -> None:
    book = funded()
    buy = order(OrderSide.BUY, 1.0)
    book.fill(buy, 100.0)

    with pytest.raises(DuplicateOrderError):
        book.fill(buy, 100.0)
    held = book.holding("acc", "BTC")
    assert held is not None
    assert held.quantity == 1.0


def test_fill_when_account_not_funded_then_unknown_account_names_the_fix() -> None:
    with pytest.raises(UnknownAccountError, match="--account ghost"):
        PaperBook().fill(order(OrderSide.BUY, 1.0, account="ghost"), 100.0)


@pytest.mark.parametrize("field", ["quantity", "price", "leverage"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_fill_when_order_value_not_positive_finite_then_invalid_order_names_field(
    field: str, value: float
) -> None:
    bad = Order(**{**order(OrderSide.BUY, 1.0).__dict__, field: value})

    with pytest.raises(InvalidOrderError) as raised:
        funded().fill(bad, 100.0)
    assert raised.value.field == field


@pytest.mark.parametrize("price", [0.0, -5.0, float("nan")])
def test_revalue_when_price_not_positive_then_refused_and_nothing_changes(price: float) -> None:
    book = funded()
    book.fill(order(OrderSide.BUY, 1.0), 100.0)

    with pytest.raises(InvalidPriceError):
        book.revalue("BTC", price, "p-1")
    assert book.price("BTC") is None


def test_revalue_when_price_moves_then_each_holder_marked_and_equity_moves() -> None:
    book = funded()
    book.fund("other", 1_000.0)
    book.fill(order(OrderSide.BUY, 2.0), 100.0)
    book.fill(order(OrderSide.BUY, 1.0, symbol="ETH", account="other"), 100.0)

    effects = book.revalue("BTC", 90.0, "p-1")

    position, balance, snapshot = effects
    assert isinstance(position, PositionUpdate)
    assert position.event_id == mark_position_id("acc", "BTC", "p-1")
    assert (position.mark_price, position.unrealized_pnl) == (90.0, -20.0)
    assert balance == BalanceUpdate(balance.event_id, "acc", 10_000.0, 9_980.0)
    assert book.price("BTC") == 90.0
    assert isinstance(snapshot, AccountSnapshot)
    assert (snapshot.reason, snapshot.equity) == (AccountUpdateReason.MARK, 9_980.0)


def test_revalue_when_replayed_then_same_ids() -> None:
    book = funded()
    book.fill(order(OrderSide.BUY, 1.0), 100.0)

    first = book.revalue("BTC", 90.0, "p-1")
    again = book.revalue("BTC", 90.0, "p-1")

    assert [e.event_id for e in first] == [e.event_id for e in again]


@pytest.mark.parametrize("fee", [-0.1, 1.0, float("nan")])
def test_book_when_fee_out_of_range_then_config_error_names_fee(fee: float) -> None:
    with pytest.raises(BookConfigError) as raised:
        PaperBook(fee)
    assert raised.value.field == "fee"


def test_copy_when_original_changes_then_snapshot_keeps_its_state() -> None:
    book = funded()
    snapshot = book.copy()

    book.fill(order(OrderSide.BUY, 1.0), 100.0)

    assert snapshot.holding("acc", "BTC") is None
    assert book.holding("acc", "BTC") is not None
