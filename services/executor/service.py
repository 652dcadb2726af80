"""The executor on Kafka: ``trade.signal`` in, ``order.requested`` / ``order.rejected`` out.

Two consumers, one thread:

* ``signals`` — the group consumer of ``trade.signal``. A batch of signals is decided and
  its decisions are produced in ONE Kafka transaction together with the batch's offsets,
  so a crash or a rebalance redelivers a signal only when its decision was not committed:
  a redelivered signal makes one order, never two. A signal id already decided (the same
  signal published twice) is skipped.
* ``state`` — an assign-only consumer of everything a decision reads: the compacted
  control topics from the beginning (policy, ESS state, strategy switches, promoted
  models), recent prices, new control-plane heartbeats, and — for the partitions this
  instance decides — the account topics (positions, balances, its own past decisions,
  the venue's failed orders) from the beginning, so a restart loses no cooldown or dedupe state.

Before deciding a batch the executor runs a *barrier*: it asks the broker for the end of
every control partition and reads ``state`` up to it. Whatever was acknowledged on a
control topic before a signal was decided is applied to that decision — a
``strategy.switched`` produced before a signal is never decided under the old strategy.
When the barrier cannot complete in time (a control topic missing or unreadable), or the
account partitions were not read to their end yet, the decision is STATE_NOT_READY: new
risk fails closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    ESS_STATE,
    MARKET_PRICE,
    MODEL_PROMOTED,
    ORDER_FAILED,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    POLICY_ACTIVATED,
    POLICY_UPDATED,
    STRATEGY_SWITCHED,
    SYSTEM_HEARTBEAT,
    TRADE_SIGNAL,
    TopicNames,
)
from schemas.contracts import contract
from schemas.enums import ServiceStatus
from schemas.serde import AvroSerde, Contract, Record, SerdeError
from services.bus.clients import LONG_LIVED
from services.bus.consumer import InvalidEventError, dead_letter, decode_checked
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer
from services.bus.transactions import GIVE_UP_SECONDS, TransactionalProducer, next_offsets
from services.executor.book import AccountBook, ControlState, Readiness, context_for
from services.executor.records import decision_record, signal_from_record
from services.health.reporter import Snapshot
from services.models.artifact import Artifact
from services.models.consumer import ModelConsumer
from services.models.registration import Registration
from streams import metrics
from streams.models.coordinator import Promotion
from streams.strategy import Accept, Decision, DecisionContext, decide
from streams.strategy.exceptions import StrategyError

Where = tuple[str, int]
"""A partition: (topic, number)."""
log = logging.getLogger(__name__)

SERVICE = "hfos-executor"
CONTROL_SERVICE = "hfos-streams"
"""The service whose heartbeats keep the executor's dead-man's switch alive."""

_CONTROL_TOPICS = (POLICY_UPDATED, POLICY_ACTIVATED, ESS_STATE, STRATEGY_SWITCHED, MODEL_PROMOTED)
_ACCOUNT_TOPICS = (
    ACCOUNT_UPDATED,
    ORDER_REQUESTED,
    ORDER_REJECTED,
    ORDER_FAILED,
)
_LATEST = OffsetSpec.latest()  # type: ignore[no-untyped-call]
REBUILD_TIMEOUT_SECONDS = 30.0
"""How long signals wait for a new assignment's account topics to be read; past it, they
are decided, and refused with STATE_NOT_READY until the read completes."""
PRICE_LOOKBACK_MS = 5 * 60_000
"""How far back a starting executor looks for the last price of each symbol."""


@dataclass(frozen=True)
class ExecutorConfig:
    names: TopicNames
    instance: str
    heartbeat_bound_ms: int = 5_000
    barrier_timeout_seconds: float = 2.0
    batch_size: int = 500
    control_service: str = CONTROL_SERVICE

    @property
    def group_id(self) -> str:
        return f"{self.names.prefix}{SERVICE}"


Clock = Callable[[], int]


def wall_ms() -> int:
    return int(time.time() * 1000)


class Executor:
    """Decides every ``trade.signal`` of the partitions it is assigned."""

    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        config: ExecutorConfig,
        clock: Clock = wall_ms,
    ) -> None:
        self._config = config
        self._serde = serde
        self._clock = clock
        names = config.names
        self._signal = contract(TRADE_SIGNAL, names)
        self._requested = contract(ORDER_REQUESTED, names)
        self._rejected = contract(ORDER_REJECTED, names)
        self._contracts: dict[str, tuple[str, Contract]] = {
            names.name(spec): (spec.name, contract(spec, names))
            for spec in (*_CONTROL_TOPICS, *_ACCOUNT_TOPICS, MARKET_PRICE, SYSTEM_HEARTBEAT)
        }
        self._control_tps = [TopicPartition(names.name(spec), 0) for spec in _CONTROL_TOPICS]
        # Heartbeats are read up to the barrier too: a heartbeat acknowledged before a
        # decision counts for it, so the dead-man's switch is exact, not racy.
        self._barrier_tps = [*self._control_tps, TopicPartition(names.name(SYSTEM_HEARTBEAT), 0)]
        self.control = ControlState()
        self.accounts = AccountBook()
        self._assigned: set[int] = set()
        self._rebuilding: dict[tuple[str, int], bool] = {}
        self._ends_reached: dict[Where, int] = {}
        """Where each state partition last reported its end (:func:`read_to`)."""
        self._rebuild_deadline = 0.0
        self._reassign = False
        self._warmed_up = False
        self._control_missing = False
        self._client_config = dict(client_config)
        self._admin = AdminClient(dict(client_config), logger=LIBRDKAFKA_LOG)
        common: dict[str, Any] = {
            **client_config,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 10,
            **LONG_LIVED,
        }
        self._signals = Consumer(
            {
                **common,
                "group.id": config.group_id,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000,
                "partition.assignment.strategy": "range",
            }
        )
        self._state = Consumer(
            {**common, "group.id": f"{config.group_id}-state", "enable.partition.eof": True}
        )
        self._producer = TransactionalProducer(
            client_config,
            serde,
            f"{config.group_id}.{config.instance}",
            service=SERVICE,
        )
        self._producer.init()
        # The models its signals name (SPEC §6): every promoted model is fetched, verified
        # and loaded off this loop; a signal's version counts as known only once loaded.
        # Acks and heartbeats go outside the decision transactions, on a plain producer.
        from services.models.runtime import preload  # noqa: PLC0415 - not at `hfos --help`

        preload()
        self._model_producer = EventProducer(client_config, serde, service=SERVICE)
        self.models: ModelConsumer[None] = ModelConsumer(
            self._model_producer, names, SERVICE, config.instance, _verify, lambda _m: True
        )
        self._registration = Registration(
            self._model_producer, names, SERVICE, config.instance, self.models.models
        )
        self._signals.subscribe(
            [self._signal.topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        self._assign_state()

    # -- the loop --------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool]) -> None:
        try:
            while not should_stop():
                self.step()
        finally:
            self.close()

    def step(self, timeout: float = 0.05) -> int:
        """Read state, then decide one batch of signals. Returns how many were decided."""
        if not self._warmed_up:
            self._warm_up()
        self._pump(0.0)
        self._serve_models()
        first = self._signals.poll(timeout)
        if self._reassign:
            self._assign_state()
        if first is None:
            return 0
        batch = [first, *self._signals.consume(self._config.batch_size - 1, 0)]
        if self._rebuilding and time.monotonic() < self._rebuild_deadline:
            # The account topics of a new assignment are still being read: hold the batch
            # (it is fetched again) rather than decide it without positions and cooldowns.
            self._hold(batch)
            self._pump(0.05)
            return 0
        return self._decide_batch(batch)

    def _hold(self, batch: list[Message]) -> None:
        firsts: dict[tuple[str, int], int] = {}
        for message in batch:
            key = (str(message.topic()), int(message.partition() or 0))
            offset = int(message.offset() or 0)
            firsts[key] = min(offset, firsts.get(key, offset))
        for (topic, partition), offset in firsts.items():
            self._signals.seek(TopicPartition(topic, partition, offset))

    def _warm_up(self) -> None:
        """Before the first signal: give the control plane one heartbeat bound to show a
        heartbeat, so that a start is not a burst of STALE_CONTROL_STATE refusals. A
        control plane that stays silent still gets the refusals once this is over."""
        deadline = time.monotonic() + self._config.heartbeat_bound_ms / 1000
        while self.control.heartbeat_at is None and time.monotonic() < deadline:
            self._pump(0.05)
        # And the promoted models their first load (a local or nearby artifact loads in
        # milliseconds), so that a start is not a burst of UNKNOWN_MODEL_VERSION either.
        while self.models.loading() and time.monotonic() < deadline:
            self._pump(0.05)
        self._serve_models()
        self._warmed_up = True

    def _serve_models(self) -> None:
        """Swap in the models loaded since the last turn, and beat (registration)."""
        for served in self.models.poll():
            self.control.apply_model_loaded(served.model, served.version)
        self._registration.tick()
        self._model_producer.poll(0)

    def health_snapshot(self) -> Snapshot:
        """Where this executor stands (for /readyz and the lag gauges); call it from the
        loop's thread, like every other use of the consumers."""
        self._export_control_gauges()
        held = [
            *self._state.position(self._state.assignment()),
            *self._signals.position(self._signals.assignment()),
        ]
        waiting = ("reading the account topics of a new assignment",) if self._rebuilding else ()
        return Snapshot(
            consumer=SERVICE,
            positions={(str(tp.topic), int(tp.partition)): int(tp.offset) for tp in held},
            must_reach=tuple((tp.topic, tp.partition) for tp in self._control_tps),
            waiting=waiting,
        )

    def _export_control_gauges(self) -> None:
        beat = self.control.heartbeat_at
        age = float("inf") if beat is None else max(0, self._clock() - beat) / 1000
        metrics.CONTROL_HEARTBEAT_AGE.set(age)
        active = self.control.policy()
        metrics.POLICY_AVAILABLE.labels(SERVICE).set(0 if active is None else 1)
        if active is not None:
            metrics.POLICY_VERSION.labels(SERVICE, active.profile.value).set(active.version)
            written = max(0, self._clock() - active.created_at) / 1000
            metrics.POLICY_AGE_SECONDS.labels(SERVICE).set(written)

    def close(self) -> None:
        try:
            self._registration.stop()
            self._model_producer.flush(10)
        finally:
            self.models.close()
        for consumer in (self._signals, self._state):
            try:
                consumer.close()
            except KafkaException as error:
                log.warning("executor: closing a consumer: %s", error)

    # -- state -----------------------------------------------------------------------

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = {tp.partition for tp in partitions}
        self._reassign = True

    def _on_revoke(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        # Decisions are committed before every poll, so nothing is in flight here.
        self._assigned = set()
        self._reassign = True

    def _assign_state(self) -> None:
        """(Re)assign the state consumer: control topics from the beginning, prices from a
        few minutes back, heartbeats from now, account topics of our partitions from the
        beginning (rebuilt again on every assignment, so nothing stale carries over)."""
        self._reassign = False
        names = self._config.names
        since = self._clock() - PRICE_LOOKBACK_MS
        price_tps = self._admin_partitions(names.name(MARKET_PRICE))
        wanted = [TopicPartition(names.name(MARKET_PRICE), p, since) for p in price_tps]
        try:
            prices = self._state.offsets_for_times(wanted, 10)
        except KafkaException as error:
            log.warning("executor: no price history (%s); prices from now on", error)
            prices = [TopicPartition(tp.topic, tp.partition, OFFSET_END) for tp in wanted]
        account = [
            TopicPartition(names.name(spec), p, OFFSET_BEGINNING)
            for spec in _ACCOUNT_TOPICS
            for p in sorted(self._assigned)
        ]
        self.accounts = AccountBook()
        self._rebuilding = {(tp.topic, tp.partition): True for tp in account}
        self._ends_reached = {}
        self._rebuild_deadline = time.monotonic() + REBUILD_TIMEOUT_SECONDS
        self._state.assign(
            [
                *(
                    TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
                    for tp in self._control_tps
                ),
                *(
                    TopicPartition(
                        tp.topic, tp.partition, OFFSET_END if tp.offset < 0 else tp.offset
                    )
                    for tp in prices
                ),
                TopicPartition(names.name(SYSTEM_HEARTBEAT), 0, OFFSET_END),
                *account,
            ]
        )

    def _admin_partitions(self, topic: str) -> list[int]:
        try:
            meta = self._admin.list_topics(topic, timeout=10).topics.get(topic)
        except KafkaException as error:
            # The broker is away (a rebalance during an outage lands here): decisions wait
            # for the barrier, which refuses them meanwhile; the process must not die.
            log.warning("executor: no metadata for %s (%s)", topic, error.args[0].str())
            return [0]
        if meta is None or meta.error is not None:
            return [0]
        return sorted(meta.partitions) or [0]

    def _pump(self, timeout: float) -> int:
        """Apply whatever the state consumer has; returns how many records."""
        handled = 0
        for message in take(self._state, 1000, timeout):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    where = (str(message.topic()), int(message.partition() or 0))
                    self._rebuilding.pop(where, None)
                    self._ends_reached[where] = int(message.offset() or 0)
                elif error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    log.warning("executor: state consumer: %s", error.str())
                continue
            self._apply_state(message)
            handled += 1
        return handled

    def _apply_state(self, message: Message) -> None:
        topic = str(message.topic())
        known = self._contracts.get(topic)
        if known is None:
            return
        name, target = known
        try:
            record = self._serde.decode(target, message.value())
        except SerdeError as problem:
            # The owner of that topic dead-letters it; here it is simply not state.
            log.warning("executor: skipping an unreadable %s record: %s", topic, problem)
            return
        try:
            self._fold(name, record)
        except (ValueError, KeyError, StrategyError) as problem:
            log.warning("executor: skipping an invalid %s record: %s", topic, problem)

    def _fold(self, name: str, record: Record) -> None:
        """Fold one record of topic ``name`` (a catalogue name) into the executor's state.
        The account book is looked up at call time: a new assignment replaces it."""
        folds: dict[str, Callable[[Record], None]] = {
            POLICY_UPDATED.name: self.control.apply_policy_updated,
            POLICY_ACTIVATED.name: self.control.apply_policy_activated,
            ESS_STATE.name: self.control.apply_ess_state,
            STRATEGY_SWITCHED.name: self.control.apply_strategy_switched,
            MODEL_PROMOTED.name: self.models.offer,
            MARKET_PRICE.name: self.control.apply_price,
            SYSTEM_HEARTBEAT.name: self._apply_heartbeat,
            ACCOUNT_UPDATED.name: self.accounts.apply_account_update,
            ORDER_REQUESTED.name: lambda r: self.accounts.apply_decision(r, accepted=True),
            ORDER_REJECTED.name: lambda r: self.accounts.apply_decision(r, accepted=False),
            ORDER_FAILED.name: self.accounts.apply_order_failed,
        }
        folds[name](record)

    def _apply_heartbeat(self, record: Record) -> None:
        """Only a HEALTHY beat of the control service keeps the dead-man's switch alive."""
        healthy = record["status"] == ServiceStatus.HEALTHY
        if healthy and record["service"] == self._config.control_service:
            self.control.apply_heartbeat(self._clock())

    def _barrier(self) -> bool:
        """Read every control partition up to the end the broker reports now, and the
        account partitions to their end once; False if that does not happen in time."""
        started = time.monotonic()
        deadline = started + self._config.barrier_timeout_seconds
        ends = self._control_ends(deadline)
        asked = time.monotonic()
        if ends is None:
            self._control_missing = True
            return False
        if self._control_missing:
            # The state consumer was assigned topics that did not exist; librdkafka takes
            # minutes to notice them appear. Assign afresh, now that they are there.
            self._control_missing = False
            self._assign_state()
        while True:
            positions = self._state.position(list(self._barrier_tps))
            behind = unread(positions, self._ends_reached, ends)
            if not behind and not self._rebuilding:
                metrics.EXECUTOR_BARRIER_SECONDS.observe(time.monotonic() - started)
                return True
            if time.monotonic() > deadline:
                log.warning(
                    "executor: state not read to its end within %g s (ends known after %.3f s): "
                    "%s%s",
                    self._config.barrier_timeout_seconds,
                    asked - started,
                    ", ".join(
                        f"{tp.topic}[{tp.partition}] at {read_to(tp, self._ends_reached)} of "
                        f"{ends[(tp.topic, tp.partition)]}"
                        for tp in behind
                    ),
                    " (account topics still being read)" if self._rebuilding else "",
                )
                return False
            self._pump(0.005)

    def _control_ends(self, deadline: float) -> dict[tuple[str, int], int] | None:
        """The end offset of every control partition, asked of the broker now; None when
        it cannot say before ``deadline`` (a topic missing, the broker unreachable)."""
        while True:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                futures = self._admin.list_offsets(
                    dict.fromkeys(self._barrier_tps, _LATEST), request_timeout=remaining
                )
                return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
            except KafkaException as error:
                # librdkafka's admin client keeps answering "unknown topic" from its cache
                # after the topic is created; a new client asks the broker afresh.
                self._admin = AdminClient(dict(self._client_config), logger=LIBRDKAFKA_LOG)
                if time.monotonic() + 0.05 >= deadline:
                    log.warning("executor: control topics unreadable: %s", error.args[0].str())
                    return None
                time.sleep(0.05)

    # -- decisions -------------------------------------------------------------------

    def _decide_batch(self, batch: list[Message]) -> int:
        ready = self._barrier()
        metrics.EXECUTOR_READY.set(1 if ready else 0)
        readiness = Readiness(ready, self._config.heartbeat_bound_ms)
        self._producer.begin()
        decided = 0
        for message in batch:
            error = message.error()
            if error is not None:
                log.warning("executor: signal consumer: %s", error.str())
                continue
            decided += self._decide_one(message, readiness)
        self._producer.commit(
            next_offsets(batch),
            self._signals.consumer_group_metadata(),
            give_up_seconds=GIVE_UP_SECONDS,
        )
        metrics.EVENTS_PROCESSED.labels(self._signal.topic, SERVICE).inc(len(batch))
        metrics.EXECUTOR_IN_FLIGHT.set(self.accounts.in_flight_count())
        return decided

    def _decide_one(self, message: Message, readiness: Readiness) -> int:
        try:
            _key, record = decode_checked(self._serde, self._signal, message)
            signal = signal_from_record(record)
            if self.accounts.seen(signal.signal_id):
                metrics.EXECUTOR_DUPLICATES.inc()
                return 0
            context = context_for(signal, self.control, self.accounts, readiness, self._clock())
            decision = decide(signal, context)
        except (SerdeError, InvalidEventError, StrategyError, ValueError) as problem:
            dead_letter(self._producer, message, problem, self._config.group_id)
            return 0
        self._publish(record, decision, context)
        return 1

    def _publish(self, signal: Record, decision: Decision, context: DecisionContext) -> None:
        target = self._requested if isinstance(decision, Accept) else self._rejected
        switch = self.control.strategies.switch_for(str(signal["account_id"]))
        record = decision_record(signal, decision, context, switch, SERVICE)
        now = context.now
        self._producer.send(target, str(signal["account_id"]), record)
        self.accounts.apply_decision(record, accepted=isinstance(decision, Accept))
        outcome = "accepted" if isinstance(decision, Accept) else decision.reason.value
        metrics.EXECUTOR_DECISIONS.labels(outcome).inc()
        sent_at = int(signal["envelope"]["event_time"])
        metrics.EXECUTOR_DECISION_SECONDS.observe(max(0, now - sent_at) / 1000)


def _verify(_promotion: Promotion, artifact: Artifact) -> None:
    """The executor runs no model: a version is loaded once its artifact is verified and
    onnxruntime accepts it (the session is not kept)."""
    from services.models.runtime import session_of  # noqa: PLC0415 - numpy, onnxruntime

    session_of(artifact)


def read_to(position: TopicPartition, ends_reached: Mapping[Where, int]) -> int:
    """How far a partition is read: past its last record consumed (``position``), or to
    where it last reported its end, whichever is further. ``position`` alone counts only
    records consumed: the heartbeat partition is assigned at its end, and when this
    executor's own first heartbeat landed just before that end was resolved, nothing was
    consumed there, and by position the barrier waited for the next heartbeat - each batch
    refused STATE_NOT_READY after 2 s (1 run in 6 of a test under load)."""
    return max(position.offset, ends_reached.get((position.topic, position.partition), -1))


def unread(
    positions: list[TopicPartition], ends_reached: Mapping[Where, int], ends: Mapping[Where, int]
) -> list[TopicPartition]:
    """The partitions not yet read to ``ends`` (an empty partition is never behind)."""
    return [
        tp
        for tp in positions
        if ends[(tp.topic, tp.partition)] > 0
        and read_to(tp, ends_reached) < ends[(tp.topic, tp.partition)]
    ]
