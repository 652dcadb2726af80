"""The paper exchange on the real broker (SPEC §5): fills become position and balance
events, prices revalue equity, bad records go to the DLQ, and every order fills once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from schemas import dlq
from schemas.catalogue import (
    ACCOUNT_UPDATED,
    BALANCE_UPDATED,
    ORDER_FAILED,
    ORDER_REQUESTED,
    POSITION_CLOSED,
    POSITION_UPDATED,
    TopicNames,
)
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.exchange.effects import (
    failure_id,
    fill_balance_id,
    mark_balance_id,
    mark_position_id,
)
from services.exchange.exceptions import MissingTopicsError
from services.exchange.service import ExchangeConfig, PaperExchange
from services.testing import Servers
from services.testing.exchange import read_committed
from tests.services.exchange.venue import Venue

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]


@pytest.fixture
def venue(stack: Servers, serde: AvroSerde, producer: EventProducer) -> Iterator[Venue]:
    venue = Venue(stack, serde, producer)
    yield venue
    venue.stop()


def test_exchange_when_topics_missing_then_start_refused_naming_them(
    stack: Servers, serde: AvroSerde
) -> None:
    names = TopicNames(f"none{uuid.uuid4().hex[:8]}.")
    exchange = PaperExchange({"bootstrap.servers": stack.kafka}, names, serde, ExchangeConfig())

    with pytest.raises(MissingTopicsError, match="hfos topics create") as raised:
        exchange.start()
    assert names.name(ORDER_REQUESTED) in raised.value.topics


def test_exchange_when_started_then_each_configured_account_funded_once(venue: Venue) -> None:
    venue.start("acc-1", "acc-2")
    venue.stop()
    venue.start("acc-1", "acc-2", "acc-3")

    balances = venue.read(BALANCE_UPDATED, 3)

    assert sorted(b.value["account_id"] for b in balances) == ["acc-1", "acc-2", "acc-3"]
    assert {(b.value["wallet_balance"], b.value["equity"]) for b in balances} == {
        (10_000.0, 10_000.0)
    }


def test_exchange_when_order_filled_then_position_updated_and_balance_with_equity(
    venue: Venue,
) -> None:
    venue.start("acc-1")
    venue.price("BTCUSDT", 100.0)

    order_id = venue.order("acc-1", "BTCUSDT", "BUY", 2.0, 100.0)
    fills = venue.fills(1)

    assert fills == {order_id: 1}
    [position] = venue.read(POSITION_UPDATED, 1)
    assert position.value["side"] == "LONG"
    assert (position.value["quantity"], position.value["entry_price"]) == (2.0, 100.0)
    assert (position.value["unrealized_pnl"], position.value["leverage"]) == (0.0, 5.0)
    fill = venue.read(BALANCE_UPDATED, 2)[-1]
    assert fill.event_id == fill_balance_id(order_id)
    assert (fill.value["wallet_balance"], fill.value["equity"]) == (10_000.0, 10_000.0)
    assert position.value["envelope"]["producer"] == "hfos-exchange"


def test_exchange_when_position_closed_then_realized_pnl_and_balance_equity_match(
    venue: Venue,
) -> None:
    venue.start("acc-1")
    venue.price("ETHUSDT", 100.0)
    venue.order("acc-1", "ETHUSDT", "SELL", 3.0, 100.0)
    venue.fills(1)
    venue.price("ETHUSDT", 90.0)
    venue.read(POSITION_UPDATED, 2)  # the open and its revaluation at 90

    close_id = venue.order("acc-1", "ETHUSDT", "BUY", 3.0, 90.0, reduce_only=True)
    venue.fills(2)

    [closed] = venue.read(POSITION_CLOSED, 1)
    assert closed.value["side"] == "SHORT"
    assert (closed.value["quantity"], closed.value["exit_price"]) == (3.0, 90.0)
    assert closed.value["realized_pnl"] == pytest.approx(30.0)
    assert (closed.value["exit_reason"], closed.value["order_id"]) == ("SIGNAL", close_id)
    last = venue.read(BALANCE_UPDATED, 4)[-1]
    assert last.event_id == fill_balance_id(close_id)
    assert last.value["wallet_balance"] == pytest.approx(10_030.0)
    assert last.value["equity"] == pytest.approx(10_030.0)


def test_exchange_when_price_moves_then_holders_revalued_and_others_untouched(
    venue: Venue,
) -> None:
    venue.start("acc-1", "acc-2")
    venue.price("BTCUSDT", 100.0)
    venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0)
    venue.fills(1)

    price_id = venue.price("BTCUSDT", 88.0)
    positions = venue.read(POSITION_UPDATED, 2)

    mark = positions[-1]
    assert mark.event_id == mark_position_id("acc-1", "BTCUSDT", price_id)
    assert (mark.value["mark_price"], mark.value["unrealized_pnl"]) == (88.0, -12.0)
    assert mark.value["envelope"]["causation_id"] == price_id
    balance = venue.read(BALANCE_UPDATED, 4)[-1]
    assert balance.event_id == mark_balance_id("acc-1", "BTCUSDT", price_id)
    assert (balance.value["wallet_balance"], balance.value["equity"]) == (10_000.0, 9_988.0)
    # two fundings, acc-1's fill, acc-1's mark; acc-2 holds nothing and is not revalued
    assert sorted(b.value["account_id"] for b in venue.read(BALANCE_UPDATED, 4)) == [
        "acc-1",
        "acc-1",
        "acc-1",
        "acc-2",
    ]


def test_exchange_when_order_has_no_price_yet_then_fills_at_its_own_price(venue: Venue) -> None:
    venue.start("acc-1")

    venue.order("acc-1", "SOLUSDT", "BUY", 4.0, 150.0)
    venue.fills(1)

    [position] = venue.read(POSITION_UPDATED, 1)
    assert (position.value["entry_price"], position.value["mark_price"]) == (150.0, 150.0)


def test_exchange_when_order_id_sent_twice_then_filled_once(venue: Venue) -> None:
    venue.start("acc-1")
    venue.price("BTCUSDT", 100.0)

    order_id = venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0)
    venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0, order_id=order_id)
    marker = venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0)
    fills = venue.fills(2)

    assert fills == {order_id: 1, marker: 1}
    assert venue.read(POSITION_UPDATED, 2)[-1].value["quantity"] == 2.0


def test_exchange_when_order_for_unfunded_account_then_failed_with_reason_and_others_go_on(
    venue: Venue,
) -> None:
    venue.start("acc-1")
    venue.price("BTCUSDT", 100.0)

    ghost = venue.order("ghost", "BTCUSDT", "BUY", 1.0, 100.0)
    funded = venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0)

    assert venue.fills(1) == {funded: 1}
    [failed] = venue.read(ORDER_FAILED, 1)
    assert failed.value["envelope"]["event_id"] == failure_id(ghost)
    assert failed.value["envelope"]["causation_id"] is not None
    assert (failed.value["order_id"], failed.value["account_id"]) == (ghost, "ghost")
    assert failed.value["reason"] == "UNKNOWN_ACCOUNT"
    assert "--account ghost" in failed.value["detail"]


def test_exchange_when_record_bad_then_dead_lettered_and_next_order_filled(
    venue: Venue,
) -> None:
    venue.start("acc-1")
    venue.price("BTCUSDT", 100.0)
    orders = venue.names.name(ORDER_REQUESTED)

    venue.producer.send_raw(orders, "acc-1", b"not avro")
    bad = venue.order("acc-1", "BTCUSDT", "BUY", -1.0, 100.0)
    good = venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0)
    fills = venue.fills(1)

    assert fills == {good: 1}
    letters = read_committed(venue.kafka, venue.names.dlq(ORDER_REQUESTED), 2)
    reasons = [dlq.read(letter.headers) for letter in letters]
    assert sorted(r.error_type for r in reasons) == ["FramingError", "InvalidEventError"]
    assert all(r.source_topic == orders for r in reasons)
    invalid = next(r for r in reasons if r.error_type == "InvalidEventError")
    assert "quantity: a quantity must be above 0, got -1.0" in invalid.error_message
    assert bad != good
    assert any(letter.value == b"not avro" for letter in letters)


def test_exchange_when_account_changes_then_one_numbered_snapshot_per_change(
    venue: Venue,
) -> None:
    """account.updated: the whole account after each change, sequence 1, 2, 3, ..."""
    venue.start("acc-1")
    venue.price("BTCUSDT", 100.0)
    opened = venue.order("acc-1", "BTCUSDT", "BUY", 2.0, 100.0)
    venue.fills(1)
    venue.price("BTCUSDT", 110.0)
    closed = venue.order("acc-1", "BTCUSDT", "SELL", 2.0, 110.0, reduce_only=True)
    venue.fills(2)

    snapshots = [s.value for s in venue.read(ACCOUNT_UPDATED, 4)]
    assert [(s["sequence"], s["reason"]) for s in snapshots] == [
        (1, "FUNDING"),
        (2, "FILL"),
        (3, "MARK"),
        (4, "FILL"),
    ]
    assert [s["order_id"] for s in snapshots] == [None, opened, None, closed]
    assert [[p["symbol"] for p in s["positions"]] for s in snapshots] == [
        [],
        ["BTCUSDT"],
        ["BTCUSDT"],
        [],
    ]
    assert snapshots[2]["positions"][0]["unrealized_pnl"] == pytest.approx(20.0)
    assert [c["realized_pnl"] for c in snapshots[3]["closed"]] == [pytest.approx(20.0)]
    assert snapshots[3]["wallet_balance"] == pytest.approx(10_020.0)


def test_exchange_when_reduce_only_order_has_nothing_to_reduce_then_failed_not_filled(
    venue: Venue,
) -> None:
    """Issue 12.4: a reduce-only SELL for a position that no longer exists was ignored
    (and counted as a fill by hfos up); the venue answers it on order.failed."""
    venue.start("acc-1")
    venue.price("BTCUSDT", 100.0)

    moot = venue.order("acc-1", "BTCUSDT", "SELL", 1.0, 100.0, reduce_only=True)
    marker = venue.order("acc-1", "BTCUSDT", "BUY", 1.0, 100.0)

    assert venue.fills(1) == {marker: 1}
    [failed] = venue.read(ORDER_FAILED, 1)
    assert (failed.value["order_id"], failed.value["reason"]) == (moot, "NOTHING_TO_REDUCE")
