"""Rebuilding the book from its own output gives back the book that wrote it, whatever
order its account snapshots are read in, and only from the exchange's own records."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import ExecutionFailure, OrderSide
from services.exchange import Effect, Order, PaperBook
from services.exchange.effects import AccountSnapshot, OrderFailure
from services.exchange.exceptions import NothingToReduceError
from services.exchange.rebuild import Rebuild
from services.exchange.records import Cause, failure_record, record_of

_ids = itertools.count(1)
steps = st.lists(
    st.tuples(
        st.sampled_from(["acc-1", "acc-2"]),
        st.sampled_from(["BTC", "ETH"]),
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.sampled_from([0.5, 1.0, 2.0]),
        st.floats(min_value=50.0, max_value=150.0, allow_nan=False),
        st.booleans(),
        st.booleans(),
    ),
    max_size=30,
)
CAUSE = Cause(None, None, 0)


def _trade(book: PaperBook, order: Order) -> tuple[list[Effect], str | None]:
    """The order's effects, or its id when the book refuses it as nothing to reduce."""
    try:
        return list(book.fill(order, order.price).effects), None
    except NothingToReduceError:
        return [], order.order_id


@settings(max_examples=100, deadline=None)
@given(steps, st.randoms(use_true_random=False))
def test_rebuild_when_snapshots_read_in_any_order_then_same_book(
    history: list[tuple[str, str, OrderSide, float, float, bool, bool]], rng: random.Random
) -> None:
    book = PaperBook()
    written: list[Effect] = [*book.fund("acc-1", 1_000.0), *book.fund("acc-2", 2_000.0)]
    failed: list[str] = []
    for account, symbol, side, size, price, mark_first, reduce_only in history:
        if mark_first:
            written += book.revalue(symbol, price, f"px-{next(_ids)}")
        order_id = f"o-{next(_ids)}"
        order = Order(order_id, account, symbol, side, size, price, 2.0, reduce_only=reduce_only)
        effects, refused = _trade(book, order)
        written += effects
        failed += [refused] if refused else []
    snapshots = [record_of(e, CAUSE) for e in written if isinstance(e, AccountSnapshot)]
    rng.shuffle(snapshots)
    rebuild = Rebuild()

    for snapshot in snapshots:
        rebuild.account_updated(snapshot)
    for order_id in failed:
        rebuild.order_failed(_failure(order_id))
    restored = rebuild.book(0.0)

    assert restored.accounts() == book.accounts()
    for account in book.accounts():
        assert restored.wallet(account) == book.wallet(account)
        for symbol in ("BTC", "ETH"):
            assert restored.holding(account, symbol) == book.holding(account, symbol)
    filled = {e.order_id for e in written if isinstance(e, AccountSnapshot) and e.order_id}
    assert all(restored.is_filled(order_id) for order_id in filled | set(failed))


def _failure(order_id: str) -> dict[str, Any]:
    failure = OrderFailure(
        "f-" + order_id, "acc-1", order_id, "BTC", ExecutionFailure.NOTHING_TO_REDUCE, "-"
    )
    return failure_record(failure, CAUSE)


def test_rebuild_when_restored_then_next_snapshot_continues_the_sequence() -> None:
    book = PaperBook()
    written = book.fund("acc-1", 1_000.0)
    rebuild = Rebuild()
    for effect in written:
        if isinstance(effect, AccountSnapshot):
            rebuild.account_updated(record_of(effect, CAUSE))
    restored = rebuild.book(0.0)
    order = Order("o-1", "acc-1", "BTC", OrderSide.BUY, 1.0, 100.0, 2.0, reduce_only=False)
    [snapshot] = [e for e in restored.fill(order, 100.0).effects if isinstance(e, AccountSnapshot)]
    assert snapshot.sequence == 2


def test_fill_when_reduce_only_and_nothing_held_then_refused_and_remembered() -> None:
    book = PaperBook()
    book.fund("acc-1", 1_000.0)
    order = Order("o-9", "acc-1", "BTC", OrderSide.SELL, 1.0, 100.0, 2.0, reduce_only=True)
    with pytest.raises(NothingToReduceError, match="holds no BTC position"):
        book.fill(order, 100.0)
    assert book.is_filled("o-9")
