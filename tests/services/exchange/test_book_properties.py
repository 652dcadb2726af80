"""Properties of the paper book over arbitrary order sequences."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import OrderSide
from services.exchange import BalanceUpdate, Fill, Order, PaperBook, PositionClose
from services.exchange.effects import AccountSnapshot
from services.exchange.exceptions import NothingToReduceError

SETTINGS = settings(max_examples=200, deadline=None)
START = 10_000.0

sides = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
sizes = st.floats(min_value=0.001, max_value=50.0, allow_nan=False)
prices = st.floats(min_value=1.0, max_value=1_000.0, allow_nan=False)
orders = st.lists(st.tuples(sides, sizes, prices, st.booleans()), min_size=1, max_size=25)
_ids = itertools.count(1)


def make(side: OrderSide, size: float, *, reduce_only: bool = False) -> Order:
    return Order(f"p-{next(_ids)}", "acc", "BTC", side, size, 100.0, 3.0, reduce_only)


def try_fill(book: PaperBook, order: Order, price: float) -> Fill | None:
    """The fill, or None for a reduce-only order with nothing to reduce (refused)."""
    try:
        return book.fill(order, price)
    except NothingToReduceError:
        return None


def book_after(steps: list[tuple[OrderSide, float, float, bool]], fee: float = 0.0) -> PaperBook:
    book = PaperBook(fee)
    book.fund("acc", START)
    for side, size, price, reduce_only in steps:
        book.revalue("BTC", price, f"px-{next(_ids)}")
        try_fill(book, make(side, size, reduce_only=reduce_only), price)
    return book


@SETTINGS
@given(orders, sides, sizes, prices)
def test_fill_at_mark_price_with_zero_fee_conserves_equity(
    history: list[tuple[OrderSide, float, float, bool]],
    side: OrderSide,
    size: float,
    price: float,
) -> None:
    book = book_after(history)
    book.revalue("BTC", price, f"px-{next(_ids)}")
    before = book.equity("acc")

    book.fill(make(side, size), price)

    assert book.equity("acc") == pytest.approx(before, rel=1e-9, abs=1e-6)


@SETTINGS
@given(orders, prices)
def test_close_realizes_exactly_the_unrealized_pnl_at_the_fill_price(
    history: list[tuple[OrderSide, float, float, bool]], price: float
) -> None:
    book = book_after(history)
    held = book.holding("acc", "BTC")
    if held is None:
        return
    wallet = book.wallet("acc")
    expected = held.quantity * (price - held.entry_price)
    closing = OrderSide.SELL if held.quantity > 0 else OrderSide.BUY

    fill = book.fill(make(closing, abs(held.quantity), reduce_only=True), price)

    [closed] = [e for e in fill.effects if isinstance(e, PositionClose)]
    assert closed.realized_pnl == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert book.wallet("acc") == pytest.approx(wallet + expected, rel=1e-9, abs=1e-6)
    assert book.holding("acc", "BTC") is None


@SETTINGS
@given(orders)
def test_reduce_only_never_increases_or_flips_a_position(
    history: list[tuple[OrderSide, float, float, bool]],
) -> None:
    book = PaperBook()
    book.fund("acc", START)
    for side, size, price, reduce_only in history:
        before = book.holding("acc", "BTC")
        try_fill(book, make(side, size, reduce_only=reduce_only), price)
        after = book.holding("acc", "BTC")
        if reduce_only:
            old = before.quantity if before else 0.0
            new = after.quantity if after else 0.0
            assert abs(new) <= abs(old)
            assert new * old >= 0


@SETTINGS
@given(orders, st.sampled_from([0.0, 0.0004, 0.001]))
def test_every_balance_equity_is_wallet_plus_unrealized_of_the_book(
    history: list[tuple[OrderSide, float, float, bool]], fee: float
) -> None:
    book = PaperBook(fee)
    book.fund("acc", START)
    for side, size, price, reduce_only in history:
        fill = try_fill(book, make(side, size, reduce_only=reduce_only), price)
        if fill is None:
            continue
        [balance] = [e for e in fill.effects if isinstance(e, BalanceUpdate)]
        [snapshot] = [e for e in fill.effects if isinstance(e, AccountSnapshot)]
        assert balance.order_id == snapshot.order_id == fill.order.order_id
        held = book.holding("acc", "BTC")
        unrealized = held.unrealized_pnl if held else 0.0
        assert balance.equity == pytest.approx(balance.wallet_balance + unrealized)
        assert balance.wallet_balance == book.wallet("acc")
        assert (snapshot.equity, snapshot.wallet_balance) == (balance.equity, book.wallet("acc"))


@SETTINGS
@given(orders)
def test_replaying_the_same_orders_on_a_fresh_book_yields_identical_events(
    history: list[tuple[OrderSide, float, float, bool]],
) -> None:
    made = [make(side, size, reduce_only=ro) for side, size, _, ro in history]
    runs = []
    for _ in range(2):
        book = PaperBook()
        book.fund("acc", START)
        fills = [
            try_fill(book, o, price) for o, (_, _, price, _) in zip(made, history, strict=True)
        ]
        runs.append([None if fill is None else fill.effects for fill in fills])

    assert runs[0] == runs[1]
