"""A paper exchange of its own for one test: topics under a fresh prefix, the exchange in a
thread (or a child process), and helpers to send prices and orders and read the output."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    BALANCE_UPDATED,
    MARKET_PRICE,
    ORDER_REQUESTED,
    POSITION_CLOSED,
    POSITION_UPDATED,
    TopicNames,
    TopicSpec,
)
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.examples import example_record
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.exchange.service import DEFAULT_INSTANCE, ExchangeConfig, PaperExchange
from services.testing import Servers
from services.testing.exchange import read_committed

OUTPUTS = (ACCOUNT_UPDATED, POSITION_UPDATED, POSITION_CLOSED, BALANCE_UPDATED)


@dataclass(frozen=True)
class Out:
    """One output record of the exchange, decoded, and where it sits in Kafka."""

    value: dict[str, Any]
    partition: int
    offset: int

    @property
    def event_id(self) -> str:
        return str(self.value["envelope"]["event_id"])


class Venue:
    def __init__(self, stack: Servers, serde: AvroSerde, producer: EventProducer) -> None:
        self.stack, self.serde, self.producer = stack, serde, producer
        self.names = TopicNames(f"xch{uuid.uuid4().hex[:8]}.")
        self.kafka = {"bootstrap.servers": stack.kafka}
        self.env = {**stack.environ(), "HFOS_TOPIC_PREFIX": self.names.prefix}
        provision(AdminClient({"bootstrap.servers": stack.kafka}), self.names.specs())
        self._prices_sent = 0
        self._threads: list[tuple[threading.Thread, threading.Event, list[BaseException]]] = []

    # -- the exchange in this process -----------------------------------------------------

    def start(self, *accounts: str, fee: float = 0.0) -> PaperExchange:
        exchange = PaperExchange(
            self.kafka, self.names, self.serde, ExchangeConfig(accounts, fee=fee)
        )
        exchange.start()
        stop, errors = threading.Event(), []

        def run() -> None:
            try:
                exchange.run(stop.is_set, timeout=0.05)
            except BaseException as error:  # noqa: BLE001 - re-raised in the test thread
                errors.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append((thread, stop, errors))
        return exchange

    def stop(self) -> None:
        for thread, stop, errors in self._threads:
            stop.set()
            thread.join(30)
            if errors:
                raise errors[0]
        self._threads.clear()

    # -- inputs ---------------------------------------------------------------------------

    def price(self, symbol: str, price: float, *, wait: bool = True) -> str:
        """Publish a price; with ``wait``, return once the exchange has committed it (so
        an order sent next fills at it, and its revaluations are on the broker)."""
        event = envelope("test", int(time.time() * 1000))
        record = {"envelope": event, "symbol": symbol, "price": price}
        self.producer.send(contract(MARKET_PRICE, self.names), symbol, record)
        assert self.producer.flush(30) == 0
        self._prices_sent += 1
        if wait:
            self.wait_consumed(self.names.name(MARKET_PRICE), self._prices_sent)
        return str(event["event_id"])

    def wait_consumed(self, topic: str, count: int, timeout: float = 30.0) -> None:
        """Until the exchange's group has committed ``count`` records of the single
        partition of ``topic`` (it commits offsets in the transaction of their effects)."""
        group = {**self.kafka, "group.id": f"{self.names.prefix}{DEFAULT_INSTANCE}"}
        consumer = Consumer(group)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                [committed] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
                if committed.offset >= count:
                    return
                time.sleep(0.02)
        finally:
            consumer.close()
        raise AssertionError(f"the exchange did not commit {count} records of {topic}")

    def order(
        self,
        account: str,
        symbol: str,
        side: str,
        quantity: float,
        price: float,
        *,
        reduce_only: bool = False,
        order_id: str | None = None,
        flush: bool = True,
    ) -> str:
        order_id = order_id or str(uuid.uuid4())
        record = example_record(
            "hfos.OrderRequested",
            overrides={
                "envelope": envelope("test", int(time.time() * 1000)),
                "order_id": order_id,
                "signal_id": order_id,
                "account_id": account,
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "price": price,
                "notional": quantity * price,
                "leverage": 5.0,
                "reduce_only": reduce_only,
            },
        )
        self.producer.send(contract(ORDER_REQUESTED, self.names), account, record)
        if flush:
            assert self.producer.flush(30) == 0
        return order_id

    # -- outputs --------------------------------------------------------------------------

    def read(self, spec: TopicSpec, expected: int, timeout: float = 30.0) -> list[Out]:
        """The exchange's committed records of ``spec`` (at least ``expected``), in the
        order the exchange wrote them: its event time, then Kafka's order (an account's
        records are on one partition)."""
        target = contract(spec, self.names)
        raw = read_committed(self.kafka, target.topic, expected, timeout)
        found = [Out(self.serde.decode(target, r.value), r.partition, r.offset) for r in raw]
        return sorted(
            found, key=lambda o: (o.value["envelope"]["event_time"], o.partition, o.offset)
        )

    def fills(self, expected: int, timeout: float = 30.0) -> Counter[str]:
        """How many FILL snapshots each order id has (each must have exactly one)."""
        snapshots = self.read(ACCOUNT_UPDATED, expected, timeout)
        deadline = time.monotonic() + timeout
        while len(_fills(snapshots)) < expected and time.monotonic() < deadline:
            snapshots = self.read(ACCOUNT_UPDATED, len(snapshots) + 1, 1.0)
        return Counter(_fills(snapshots))


def _fills(snapshots: list[Out]) -> list[str]:
    return [str(s.value["order_id"]) for s in snapshots if s.value["reason"] == "FILL"]
