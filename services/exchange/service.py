"""The paper exchange on Kafka (SPEC §5): it fills ``order.requested`` at the latest
``market.price`` of the symbol and publishes ``position.updated``, ``position.closed`` and
``balance.updated`` (``order.failed`` for an order it cannot execute: the emergency stop
counts those), and marks open positions to every new price — so prices move equity and
equity moves the breaker.

Exactly once, end to end: inputs are read ``read_committed`` (the executor writes orders
in transactions) by one consumer group, and each polled batch's effects and input offsets
are committed in one Kafka transaction (``services.bus.transactions``). An order id filled
before is never filled again (the book remembers every filled order, rebuilt on start from
the order ids its fill balances carry). On start the book is rebuilt from the exchange's own output
(:mod:`.replay`) before any order is read, so a restart loses no state; an account named in
the configuration with no balance yet is funded with one ``balance.updated``.

Within a batch, prices are applied before orders, so an order fills at the newest price
the exchange has read. An order for a symbol with no price yet fills at the price the
executor sized it at (its ``price`` field), and a log line says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.catalogue import MARKET_PRICE, ORDER_FAILED, ORDER_REQUESTED, TopicNames
from schemas.contracts import contract
from schemas.enums import ExecutionFailure
from schemas.serde import AvroSerde, SerdeError
from services.bus.clients import LONG_LIVED
from services.bus.consumer import InvalidEventError, dead_letter, decode_checked
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG
from services.bus.transactions import GIVE_UP_SECONDS, TransactionalProducer, next_offsets
from services.exchange import metrics
from services.exchange.book import Order, PaperBook
from services.exchange.effects import Effect, OrderFailure, failure_id
from services.exchange.exceptions import (
    InvalidOrderError,
    InvalidPriceError,
    MissingTopicsError,
    NothingToReduceError,
    UnknownAccountError,
)
from services.exchange.records import (
    WRITES,
    Cause,
    failure_record,
    order_of,
    record_of,
    topic_of,
)
from services.exchange.replay import OUTPUTS, read_own_output
from services.health.reporter import Snapshot
from streams import metrics as bus_metrics

LOG = logging.getLogger("hfos.exchange")
DEFAULT_INSTANCE = "hfos-exchange"
DEFAULT_INITIAL_BALANCE = 10_000.0
_DEAD_LETTERED = (SerdeError, InvalidEventError, InvalidOrderError, InvalidPriceError)


@dataclass(frozen=True)
class ExchangeConfig:
    """``instance`` names the consumer group and the transactional id (under the topic
    prefix): run one exchange per prefix — a second with the same instance fences the
    first, which then stops with a fatal error instead of filling orders twice."""

    accounts: tuple[str, ...] = ()
    initial_balance: float = DEFAULT_INITIAL_BALANCE
    fee: float = 0.0
    instance: str = DEFAULT_INSTANCE
    batch_size: int = 500


class PaperExchange:
    def __init__(
        self,
        client_config: Mapping[str, str],
        names: TopicNames,
        serde: AvroSerde,
        config: ExchangeConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = dict(client_config)
        self._names, self._serde, self._config, self._clock = names, serde, config, clock
        self._orders = contract(ORDER_REQUESTED, names)
        self._prices = contract(MARKET_PRICE, names)
        self._failed = contract(ORDER_FAILED, names)
        self._inputs = {c.topic: c for c in (self._orders, self._prices)}
        self._group = f"{names.prefix}{config.instance}"
        self._sink = TransactionalProducer(
            client_config, serde, self._group, service=config.instance
        )
        self._book = PaperBook(config.fee)
        self._consumer: Consumer | None = None

    @property
    def book(self) -> PaperBook:
        return self._book

    def start(self) -> None:
        """Fence a predecessor, rebuild the book, fund new accounts, then subscribe."""
        started = time.monotonic()
        _require_topics(self._client, self._names)
        self._sink.init()
        self._restore()
        self._fund()
        self._consumer = Consumer(
            {
                **self._client,
                "group.id": self._group,
                # Static membership: a restarted exchange takes its partitions back at
                # once instead of waiting out the dead process's 10 s session.
                "group.instance.id": self._group,
                "session.timeout.ms": 10_000,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **LONG_LIVED,
            }
        )
        self._consumer.subscribe(list(self._inputs))
        metrics.REBUILD_SECONDS.set(time.monotonic() - started)

    def run(self, should_stop: Callable[[], bool], timeout: float = 0.1) -> None:
        """Poll until ``should_stop()``, then close (each batch is committed as it goes)."""
        try:
            while not should_stop():
                self.poll(timeout)
        finally:
            self.close()

    def poll(self, timeout: float = 0.1) -> int:
        """Handle one batch in one transaction; returns how many records it had."""
        consumer = self._require_consumer()
        messages = [m for m in take(consumer, self._config.batch_size, timeout) if _usable(m)]
        if not messages:
            return 0
        started = time.perf_counter()
        try:
            self._sink.begin()
            for message in sorted(messages, key=self._prices_first):
                self._handle(message)
            self._sink.commit(
                next_offsets(messages),
                consumer.consumer_group_metadata(),
                give_up_seconds=GIVE_UP_SECONDS,
            )
        except KafkaException as error:
            if not error.args[0].txn_requires_abort():
                raise
            self._recover(error)
            return 0
        metrics.TRANSACTIONS.labels("committed").inc()
        metrics.TRANSACTION_SECONDS.observe(time.perf_counter() - started)
        metrics.ACCOUNTS.set(len(self._book.accounts()))
        metrics.OPEN_POSITIONS.set(self._book.open_positions())
        return len(messages)

    def health_snapshot(self) -> Snapshot:
        """Where the exchange stands (for /readyz and the lag gauges); call it from the
        loop's thread. It follows no control topic: started (book rebuilt) and connected
        is ready; orders waiting are lag, not unreadiness."""
        if self._consumer is None:
            return Snapshot(self._group, {}, waiting=("rebuilding the book",))
        held = self._consumer.position(self._consumer.assignment())
        positions = {(str(tp.topic), int(tp.partition)): int(tp.offset) for tp in held}
        # With nothing assigned yet, the first partition of each input still tells
        # whether the broker answers.
        asked = () if positions else tuple((topic, 0) for topic in self._inputs)
        return Snapshot(self._group, positions, asked=asked)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        self._sink.close()

    # -- start-up and recovery ----------------------------------------------------------

    def _restore(self) -> None:
        rebuild = read_own_output(self._client, self._names, self._serde)
        self._book = rebuild.book(self._config.fee)
        LOG.info(
            "book rebuilt from own output: %d accounts, %d open positions, %d filled orders",
            len(self._book.accounts()),
            self._book.open_positions(),
            len(rebuild.filled),
        )

    def _fund(self) -> None:
        effects = [
            effect
            for account in self._config.accounts
            for effect in self._book.fund(account, self._config.initial_balance)
        ]
        if not effects:
            return
        self._sink.begin()
        self._emit(effects, Cause(None, None, self._now()))
        self._sink.commit(None, None)
        for effect in effects:
            LOG.info("funded %s with %.2f", effect.account_id, self._config.initial_balance)

    def _recover(self, error: KafkaException) -> None:
        """An abortable transaction error: abort, and start over from what is committed —
        the book from the exchange's own output, the inputs from the committed offsets."""
        LOG.warning("transaction aborted (%s); rebuilding from committed state", error)
        self._sink.abort()
        metrics.TRANSACTIONS.labels("aborted").inc()
        self._restore()
        consumer = self._require_consumer()
        for committed in consumer.committed(consumer.assignment(), timeout=30):
            offset = committed.offset if committed.offset >= 0 else OFFSET_BEGINNING
            consumer.seek(TopicPartition(committed.topic, committed.partition, offset))

    # -- one record ---------------------------------------------------------------------

    def _handle(self, message: Message) -> None:
        topic = str(message.topic())
        source = self._inputs[topic]
        try:
            _key, value = decode_checked(self._serde, source, message)
            if source is self._prices:
                self._on_price(value)
            else:
                self._on_order(value)
        except _DEAD_LETTERED as error:
            self._dead_letter(message, error)
        bus_metrics.EVENTS_PROCESSED.labels(topic, self._group).inc()

    def _on_price(self, value: Mapping[str, Any]) -> None:
        env = value["envelope"]
        effects = self._book.revalue(str(value["symbol"]), float(value["price"]), env["event_id"])
        metrics.REVALUATIONS.inc(len(effects) // 2)
        self._emit(effects, Cause(env["event_id"], env.get("correlation_id"), self._now()))

    def _on_order(self, value: Mapping[str, Any]) -> None:
        order, env = order_of(value), value["envelope"]
        if self._book.is_filled(order.order_id):
            metrics.ORDERS_SKIPPED.labels("duplicate").inc()
            LOG.info("order %s was filled before: not filled again", order.order_id)
            return
        price = self._book.price(order.symbol)
        if price is None:
            price = order.price
            metrics.FALLBACK_PRICE.inc()
            LOG.warning(
                "no market.price of %s seen yet: order %s fills at its own price %s "
                "(the price the executor sized it at)",
                order.symbol,
                order.order_id,
                price,
            )
        cause = Cause(env["event_id"], env.get("correlation_id"), self._now())
        try:
            fill = self._book.fill(order, price)
        except UnknownAccountError as error:
            self._fail(order, ExecutionFailure.UNKNOWN_ACCOUNT, error, cause)
            return
        except NothingToReduceError as error:
            self._fail(order, ExecutionFailure.NOTHING_TO_REDUCE, error, cause)
            return
        metrics.FILLS.labels(fill.kind.value).inc()
        LOG.info("order %s %s %s at %s", order.order_id, fill.kind.value, order.symbol, price)
        self._emit(fill.effects, cause)

    def _fail(self, order: Order, reason: ExecutionFailure, error: Exception, cause: Cause) -> None:
        """Answer an order the exchange does not execute on ``order.failed``: whoever sent
        it stops counting it as in flight, and the ESS counts execution errors from it."""
        metrics.ORDERS_SKIPPED.labels(reason.value.lower()).inc()
        LOG.warning("not filled: %s", error)
        failure = OrderFailure(
            failure_id(order.order_id),
            order.account_id,
            order.order_id,
            order.symbol,
            reason,
            str(error),
        )
        self._sink.send(self._failed, order.account_id, failure_record(failure, cause))

    def _emit(self, effects: Sequence[Effect], cause: Cause) -> None:
        for effect in effects:
            target = contract(topic_of(effect), self._names)
            self._sink.send(target, effect.account_id, record_of(effect, cause))

    def _dead_letter(self, message: Message, error: Exception) -> None:
        dead_letter(self._sink, message, error, self._group)
        LOG.warning("%s offset %s dead-lettered: %s", message.topic(), message.offset(), error)

    def _prices_first(self, message: Message) -> int:
        return 0 if message.topic() == self._prices.topic else 1

    def _require_consumer(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("PaperExchange.start() was not called")  # a programming error
        return self._consumer

    def _now(self) -> int:
        return int(self._clock() * 1000)


def _usable(message: Message) -> bool:
    error = message.error()
    if error is None:
        return True
    if error.fatal():
        raise KafkaException(error)
    LOG.warning("consumer: %s", error.str())
    return False


def _require_topics(client_config: Mapping[str, str], names: TopicNames) -> None:
    admin = AdminClient(dict(client_config), logger=LIBRDKAFKA_LOG)
    existing = admin.list_topics(timeout=30).topics
    wanted = [names.name(spec) for spec in (ORDER_REQUESTED, MARKET_PRICE, *WRITES, *OUTPUTS)]
    wanted += [names.dlq(spec) for spec in (ORDER_REQUESTED, MARKET_PRICE)]
    missing = [topic for topic in wanted if topic not in existing]
    if missing:
        raise MissingTopicsError(missing)
