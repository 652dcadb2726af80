"""Rebuilding the book from its own output gives back the book that wrote it, whatever
order the records of the three topics are read in."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import OrderSide
from services.exchange import BalanceUpdate, Effect, Order, PaperBook, PositionClose
from services.exchange.rebuild import ORDER_HEADER, SEQ_HEADER, Rebuild, header, seq_of
from services.exchange.records import Cause, record_of

_ids = itertools.count(1)
steps = st.lists(
    st.tuples(
        st.sampled_from(["acc-1", "acc-2"]),
        st.sampled_from(["BTC", "ETH"]),
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.sampled_from([0.5, 1.0, 2.0]),
        st.floats(min_value=50.0, max_value=150.0, allow_nan=False),
        st.booleans(),
    ),
    max_size=30,
)


def feed(rebuild: Rebuild, effect: Effect, seq: int) -> None:
    record = record_of(effect, Cause(None, None, 0))
    if isinstance(effect, BalanceUpdate):
        rebuild.balance_updated(record, seq, effect.order_id)
    elif isinstance(effect, PositionClose):
        rebuild.position_closed(record, seq)
    else:
        rebuild.position_updated(record, seq)


@settings(max_examples=100, deadline=None)
@given(steps, st.randoms(use_true_random=False))
def test_rebuild_when_records_read_in_any_order_then_same_book(
    history: list[tuple[str, str, OrderSide, float, float, bool]], rng: random.Random
) -> None:
    book = PaperBook()
    written: list[Effect] = [*book.fund("acc-1", 1_000.0), *book.fund("acc-2", 2_000.0)]
    for account, symbol, side, size, price, mark_first in history:
        if mark_first:
            written += book.revalue(symbol, price, f"px-{next(_ids)}")
        order = Order(f"o-{next(_ids)}", account, symbol, side, size, price, 2.0, reduce_only=False)
        written += book.fill(order, price).effects
    numbered = list(enumerate(written))
    rng.shuffle(numbered)
    rebuild = Rebuild()

    for seq, effect in numbered:
        feed(rebuild, effect, seq)
    restored = rebuild.book(0.0)

    assert restored.accounts() == book.accounts()
    for account in book.accounts():
        assert restored.wallet(account) == book.wallet(account)
        for symbol in ("BTC", "ETH"):
            assert restored.holding(account, symbol) == book.holding(account, symbol)
    assert rebuild.next_seq == len(written)
    filled = {e.order_id for e in written if isinstance(e, BalanceUpdate) and e.order_id}
    assert all(restored.is_filled(order_id) for order_id in filled)


def test_seq_of_when_header_missing_or_not_a_number_then_none() -> None:
    assert seq_of([]) is None
    assert seq_of([(SEQ_HEADER, b"x1")]) is None
    assert seq_of([(SEQ_HEADER, b"41"), (ORDER_HEADER, b"o-1")]) == 41
    assert header([(ORDER_HEADER, b"o-1")], ORDER_HEADER) == "o-1"
