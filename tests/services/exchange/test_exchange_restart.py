"""The paper exchange killed and restarted (SPEC §0, §5): an exchange SIGKILLed inside a
transaction, and one SIGKILLed between batches, neither lose nor duplicate a fill, and the
restarted one trades on from the book it rebuilt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from schemas.catalogue import ACCOUNT_UPDATED, BALANCE_UPDATED, POSITION_CLOSED, POSITION_UPDATED
from schemas.contracts import contract
from schemas.enums import OrderSide
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.cli.exchange import READY
from services.exchange import Order, PaperBook
from services.exchange.replay import read_own_output
from services.testing import Servers
from services.testing.exchange import start_exchange, wait_for_log
from services.testing.kafka import read_topic
from services.testing.workers import stop_worker
from tests.services.exchange.venue import Venue

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

ACCOUNTS = ("acc-1", "acc-2")
# (account, symbol, side, quantity): opens, increases, partial reduces, closes and flips.
FIRST = [
    ("acc-1", "BTCUSDT", "BUY", 1.0),
    ("acc-2", "ETHUSDT", "SELL", 2.0),
    ("acc-1", "BTCUSDT", "BUY", 1.0),
    ("acc-2", "BTCUSDT", "BUY", 0.5),
    ("acc-1", "ETHUSDT", "SELL", 3.0),
    ("acc-2", "ETHUSDT", "BUY", 1.0),
    ("acc-1", "BTCUSDT", "SELL", 0.5),
    ("acc-2", "BTCUSDT", "SELL", 1.5),
]
SECOND = [
    ("acc-1", "BTCUSDT", "BUY", 2.5),
    ("acc-2", "ETHUSDT", "SELL", 1.0),
    ("acc-1", "ETHUSDT", "BUY", 3.0),
    ("acc-2", "BTCUSDT", "BUY", 1.0),
    ("acc-1", "BTCUSDT", "SELL", 1.0),
    ("acc-2", "ETHUSDT", "BUY", 2.0),
]
PRICES_FIRST = {"BTCUSDT": 100.0, "ETHUSDT": 50.0}
PRICES_SECOND = {"BTCUSDT": 120.0, "ETHUSDT": 40.0}


@pytest.fixture
def venue(stack: Servers, serde: AvroSerde, producer: EventProducer) -> Venue:
    return Venue(stack, serde, producer)


def crash_inside_transaction(venue: Venue, log: Path) -> tuple[int, list[str]]:
    """Run the crashing exchange, send the first round; its exit code and the order ids."""
    argv = [sys.executable, "-m", "tests.services.exchange.crashing_exchange", *ACCOUNTS]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            argv, env={**os.environ, **venue.env}, stdout=sink, stderr=subprocess.STDOUT
        )
    wait_for_log(log, READY, process)
    ids = send(venue, FIRST, PRICES_FIRST)
    return process.wait(60), ids


def send(
    venue: Venue, orders: list[tuple[str, str, str, float]], prices: dict[str, float]
) -> list[str]:
    for symbol, price in prices.items():
        venue.price(symbol, price, wait=False)  # the exchange may be down or about to crash
    return [
        venue.order(account, symbol, side, quantity, prices[symbol], flush=False)
        for account, symbol, side, quantity in orders
    ]


def expected_book(first: list[str], second: list[str]) -> PaperBook:
    """The book one uninterrupted exchange would hold after both rounds."""
    book = PaperBook()
    for account in ACCOUNTS:
        book.fund(account, 10_000.0)
    for ids, orders, prices in ((first, FIRST, PRICES_FIRST), (second, SECOND, PRICES_SECOND)):
        for symbol, price in prices.items():
            book.revalue(symbol, price, f"{symbol}-{price}")
        for order_id, (account, symbol, side, quantity) in zip(ids, orders, strict=True):
            order = Order(
                order_id,
                account,
                symbol,
                OrderSide(side),
                quantity,
                prices[symbol],
                5.0,
                reduce_only=False,
            )
            book.fill(order, prices[symbol])
    return book


def test_exchange_when_killed_inside_and_between_transactions_then_every_order_filled_once(
    venue: Venue, tmp_path: Path
) -> None:
    log = tmp_path / "exchange.log"
    crashed, first_ids = crash_inside_transaction(venue, log)

    exchange = start_exchange(venue.env, ACCOUNTS, log)
    first_fills = venue.fills(len(FIRST))
    for symbol, price in PRICES_SECOND.items():
        venue.price(symbol, price)
    wait_marked(venue, PRICES_SECOND)
    stop_worker(exchange, signal.SIGKILL)
    second_ids = send(venue, SECOND, PRICES_SECOND)
    for index in range(3):  # three orders of the first round, redelivered
        account, symbol, side, quantity = FIRST[index]
        venue.order(account, symbol, side, quantity, 1.0, order_id=first_ids[index], flush=False)
    assert venue.producer.flush(30) == 0
    exchange = start_exchange(venue.env, ACCOUNTS, log)
    fills = venue.fills(len(FIRST) + len(SECOND))
    stop_worker(exchange)  # SIGTERM: a graceful stop

    assert crashed == -signal.SIGKILL
    assert exchange.returncode == 0
    assert first_fills == Counter(first_ids)
    assert fills == Counter(first_ids + second_ids)  # each order exactly once
    everything = {**venue.kafka, "isolation.level": "read_uncommitted"}
    raw = read_topic(everything, venue.names.name(ACCOUNT_UPDATED), 1, timeout=10, settle=1)
    target = contract(ACCOUNT_UPDATED, venue.names)
    written = Counter(venue.serde.decode(target, r.value)["order_id"] for r in raw)
    assert any(written[order_id] > 1 for order_id in first_ids)  # the aborted batch existed
    for spec in (ACCOUNT_UPDATED, POSITION_UPDATED, POSITION_CLOSED, BALANCE_UPDATED):
        ids = [out.event_id for out in venue.read(spec, 1)]
        assert len(ids) == len(set(ids)), spec.name
    rebuilt = read_own_output(venue.kafka, venue.names, venue.serde).book(0.0)
    expected = expected_book(first_ids, second_ids)
    for account in ACCOUNTS:
        assert rebuilt.wallet(account) == pytest.approx(expected.wallet(account))
        for symbol in PRICES_FIRST:
            assert rebuilt.holding(account, symbol) == expected.holding(account, symbol)


def wait_marked(venue: Venue, prices: dict[str, float]) -> None:
    """Until the exchange has marked a position to each of ``prices`` (committed)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        marks = {
            (o.value["symbol"], o.value["mark_price"]) for o in venue.read(POSITION_UPDATED, 1)
        }
        if all(item in marks for item in prices.items()):
            return
    raise AssertionError(f"no position marked to {prices}")
