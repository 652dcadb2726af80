"""The position monitor on Kafka (SPEC §6): exit signals from the live exit model, and the
flash-crash detector.

One consumer, assigned (no group: every instance sees every account and every price):

* ``account.updated``, every partition, from the beginning — the venue's whole account
  after each change, applied by sequence, so positions and equity are the venue's own;
* ``market.price`` from a few minutes back — marks, momentum, and the price windows of the
  flash-crash detector;
* ``model.promoted`` from the beginning — promotions of the exit model it serves, handed to
  :class:`~services.models.consumer.ModelConsumer`, which loads them off this loop.

Each change of a position or of its symbol's price scores the position with the model
serving at that moment (read once per batch of positions, so one decision uses one
version) and, at or above the threshold, publishes a ``trade.signal`` CLOSE naming the
model and version, under an id derived from the position and the version. No signal is
sent while the accounts are still being read to their end at start: a score of history
is no decision.

Every price and every account equity also feeds the flash-crash detector; an episode sends
one ``ess.command`` (REDUCE or TRIP, on the scope the active policy names, trigger
FLASH_CRASH) whose command id and cause derive from the episode, so the ESS applies it
once however often it is sent. Episodes found in the history read at start are acted on
only when recent (``REPLAY_GRACE_MS``): an old crash replayed must not trip a desk that an
operator has since reset.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    ESS_COMMAND,
    MARKET_PRICE,
    MODEL_PROMOTED,
    TRADE_SIGNAL,
    TopicNames,
)
from schemas.contracts import contract
from schemas.enums import EssCommandKind, EssTrigger, SignalAction
from schemas.envelope import envelope
from schemas.ids import derived_id
from schemas.serde import AvroSerde, Contract, Record, SerdeError
from services.bus.clients import LONG_LIVED
from services.bus.consumer import InvalidEventError, dead_letter, decode_checked
from services.bus.polling import take
from services.bus.producer import EventProducer
from services.health.reporter import Snapshot
from services.models.artifact import Artifact
from services.models.consumer import ModelConsumer, Served, serves_only
from services.models.registration import Registration
from services.models.runtime import ExitModel, exit_model, preload
from services.monitor.book import MonitorBook
from services.policy.view import PolicyView
from streams import metrics
from streams.models.coordinator import Promotion
from streams.monitor.exits import DEFAULT_THRESHOLD, Exit, OpenPosition, decide
from streams.monitor.features import FEATURE_COUNT, row
from streams.monitor.flashcrash import Episode, FlashCrashDetector, Observation, Thresholds
from streams.policy.version import PolicyVersion

log = logging.getLogger(__name__)

SERVICE = "hfos-monitor"
DEFAULT_MODEL = "exit-model"
PRICE_LOOKBACK_MS = 5 * 60_000
"""Prices read back at start: the longest flash-crash window a policy allows is an hour,
the default 10 s; five minutes fills the usual windows and the momentum feature at once."""
REPLAY_GRACE_MS = 60_000
"""An episode found while reading history at start is acted on when it is this recent."""


@dataclass(frozen=True)
class MonitorConfig:
    names: TopicNames
    instance: str
    model: str = DEFAULT_MODEL
    threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Decision:
    """One position scored: by which model version, how, and how long it took from the
    input being read to the decision (and its signal, if any) being sent."""

    position: OpenPosition
    model: str
    version: str
    score: float
    closed: bool
    seconds: float


OnDecision = Callable[[Decision], None]


class PositionMonitor:
    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        config: MonitorConfig,
        *,
        clock: Callable[[], float] = time.time,
        on_decision: OnDecision | None = None,
    ) -> None:
        self._config, self._serde, self._clock = config, serde, clock
        self._on_decision = on_decision
        names = config.names
        self._contracts = {
            names.name(spec): contract(spec, names)
            for spec in (ACCOUNT_UPDATED, MARKET_PRICE, MODEL_PROMOTED)
        }
        self._signal = contract(TRADE_SIGNAL, names)
        self._ess = contract(ESS_COMMAND, names)
        preload()
        self._producer = EventProducer(client_config, serde, service=SERVICE)
        self.models: ModelConsumer[ExitModel] = ModelConsumer(
            self._producer, names, SERVICE, config.instance, _load_exit, serves_only([config.model])
        )
        self._registration = Registration(
            self._producer, names, SERVICE, config.instance, lambda: [config.model]
        )
        self._policy = PolicyView(client_config, names, serde)
        self.book = MonitorBook()
        self._detector = FlashCrashDetector()
        self._sent: set[str] = set()
        """Ids of the CLOSE signals and ESS commands this process sent."""
        self._consumer = Consumer(
            {
                **client_config,
                "group.id": f"{names.prefix}{SERVICE}-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
                **LONG_LIVED,
            }
        )
        self._rebuilding: set[tuple[str, int]] = set()
        self._assign()

    # -- assignment and the loop -------------------------------------------------------

    def _assign(self) -> None:
        names = self._config.names
        accounts = names.name(ACCOUNT_UPDATED)
        account_tps = [
            TopicPartition(accounts, p, OFFSET_BEGINNING) for p in self._partitions(accounts)
        ]
        prices = names.name(MARKET_PRICE)
        since = int(self._clock() * 1000) - PRICE_LOOKBACK_MS
        wanted = [TopicPartition(prices, p, since) for p in self._partitions(prices)]
        price_tps = [
            tp if tp.offset >= 0 else self._high_watermark(tp) for tp in self._price_offsets(wanted)
        ]
        models = TopicPartition(names.name(MODEL_PROMOTED), 0, OFFSET_BEGINNING)
        self._rebuilding = {(tp.topic, tp.partition) for tp in account_tps}
        self._consumer.assign([*account_tps, *price_tps, models])

    def _price_offsets(self, wanted: list[TopicPartition]) -> list[TopicPartition]:
        """Where the price history of the last minutes starts; a broker that cannot say
        within 10 s (a leader moving, a topic just created) gives prices from now on."""
        deadline = time.monotonic() + 10
        while True:
            try:
                return list(self._consumer.offsets_for_times(wanted, 5))
            except KafkaException as error:
                if time.monotonic() > deadline:
                    log.warning("monitor: no price history (%s); prices from now on", error)
                    return [TopicPartition(tp.topic, tp.partition, OFFSET_END) for tp in wanted]
                time.sleep(0.2)

    def _high_watermark(self, tp: TopicPartition) -> TopicPartition:
        """No price since the look-back: start at the end as it is now, an explicit offset
        (the logical end is resolved later, and would skip prices published meanwhile)."""
        try:
            _low, high = self._consumer.get_watermark_offsets(tp, timeout=5)
        except KafkaException:
            return TopicPartition(tp.topic, tp.partition, OFFSET_END)
        return TopicPartition(tp.topic, tp.partition, high)

    def _partitions(self, topic: str) -> list[int]:
        meta = self._consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            return [0]
        return sorted(meta.partitions)

    @property
    def live(self) -> bool:
        """Every account partition was read to its end once: decisions are decisions."""
        return not self._rebuilding

    def run(self, should_stop: Callable[[], bool]) -> None:
        try:
            while not should_stop():
                self.step()
        finally:
            self.close()

    def step(self, timeout: float = 0.05) -> int:
        """Swap in a loaded model, read a batch, decide; returns the records handled."""
        if self.models.poll() and self.live:
            self._score(self.book.all_open(), time.perf_counter(), None)
        self._registration.tick()
        handled = 0
        for message in take(self._consumer, 500, timeout):
            received = time.perf_counter()
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._rebuilding.discard((str(message.topic()), int(message.partition() or 0)))
                elif error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    log.warning("monitor: consumer: %s", error.str())
                continue
            self._handle(message, received)
            handled += 1
        self._producer.poll(0)
        return handled

    def close(self) -> None:
        try:
            self._registration.stop()
            self._producer.flush(10)
        finally:
            self.models.close()
            self._policy.close()
            self._consumer.close()

    def health_snapshot(self) -> Snapshot:
        models = TopicPartition(self._config.names.name(MODEL_PROMOTED), 0)
        held = self._consumer.position(self._consumer.assignment())
        waiting = ("reading the accounts to their end",) if self._rebuilding else ()
        return Snapshot(
            consumer=SERVICE,
            positions={(str(tp.topic), int(tp.partition)): int(tp.offset) for tp in held},
            must_reach=((models.topic, models.partition),),
            waiting=waiting,
        )

    # -- records -----------------------------------------------------------------------

    def _handle(self, message: Message, received: float) -> None:
        target = self._contracts[str(message.topic())]
        try:
            _key, record = decode_checked(self._serde, target, message)
        except (SerdeError, InvalidEventError) as problem:
            dead_letter(self._producer, message, problem, SERVICE)
            return
        metrics.EVENTS_PROCESSED.labels(target.topic, SERVICE).inc()
        self._fold(target, record, received)

    def _fold(self, target: Contract, record: Record, received: float) -> None:
        names = self._config.names
        env = record["envelope"]
        at, event_id = int(env["event_time"]), str(env["event_id"])
        if target.topic == names.name(MODEL_PROMOTED):
            self.models.offer(record)
        elif target.topic == names.name(MARKET_PRICE):
            symbol = str(record["symbol"])
            self.book.apply_price(symbol, float(record["price"]))
            self._watch(Observation(f"symbol:{symbol}", float(record["price"]), at, event_id))
            if self.live:
                self._score(self.book.of_symbol(symbol), received, event_id)
        elif self.book.apply_account_update(record):
            account = str(record["account_id"])
            self._watch(Observation(f"account:{account}", self.book.equity[account], at, event_id))
            if self.live:
                self._score(self.book.of_account(account), received, event_id)

    # -- exits -------------------------------------------------------------------------

    def _score(self, positions: list[OpenPosition], received: float, cause: str | None) -> None:
        served = self.models.served(self._config.model)  # one read: one version throughout
        if served is None or not positions:
            return
        marked = [self.book.marked(p) for p in positions]
        rows = np.asarray(
            [
                row(
                    p.direction, p.entry_price, p.mark_price, p.leverage, self.book.recent(p.symbol)
                )
                for p in marked
            ],
            dtype=np.float32,
        ).reshape(len(marked), FEATURE_COUNT)
        scores = served.value.predict(rows)
        for position, score in zip(marked, scores, strict=True):
            found = decide(
                position, float(score), served.model, served.version, self._config.threshold
            )
            if found is not None:
                self._close(found, cause)
            metrics.MONITOR_SCORES.labels(served.model, served.version).inc()
            if self._on_decision is not None:
                seconds = time.perf_counter() - received
                self._on_decision(
                    Decision(
                        position,
                        served.model,
                        served.version,
                        float(score),
                        found is not None,
                        seconds,
                    )
                )
        metrics.MONITOR_DECISION_SECONDS.observe(time.perf_counter() - received)

    def _close(self, found: Exit, cause: str | None) -> None:
        if found.signal_id in self._sent:
            return
        self._sent.add(found.signal_id)
        position = found.position
        record = {
            "envelope": envelope(
                SERVICE,
                int(self._clock() * 1000),
                event_id=found.signal_id,
                correlation_id=cause,
                causation_id=cause,
            ),
            "signal_id": found.signal_id,
            "account_id": position.account_id,
            "symbol": position.symbol,
            "action": SignalAction.CLOSE.value,
            "confidence": min(1.0, max(0.0, found.score)),
            "model_name": found.model,
            "model_version": found.version,
            "strategy": None,
            "quantity": position.quantity,
            "notional": None,
        }
        log.info(
            "monitor: close %s %s %s (score %.3f, %s %s)",
            position.account_id,
            position.side,
            position.symbol,
            found.score,
            found.model,
            found.version,
        )
        self._producer.send(self._signal, position.account_id, record)
        metrics.MONITOR_CLOSE_SIGNALS.labels(found.model, found.version).inc()

    # -- flash crashes -----------------------------------------------------------------

    def _watch(self, observation: Observation) -> None:
        active = self._policy.state().active()
        episode = self._detector.observe(observation, thresholds_of(active))
        if episode is None:
            return
        now = int(self._clock() * 1000)
        if not self.live and episode.at < now - REPLAY_GRACE_MS:
            log.info(
                "monitor: flash crash %s in history (at %d): not acted on",
                episode.source,
                episode.at,
            )
            return
        record = flash_crash_command(episode, active, now, thresholds_of(active))
        if record["command_id"] in self._sent:
            return
        self._sent.add(record["command_id"])
        log.warning("monitor: %s; asking the ESS for %s", record["reason"], record["kind"])
        self._producer.send(self._ess, record["scope"], record)
        metrics.MONITOR_FLASH_CRASHES.labels(episode.source.split(":", 1)[0]).inc()


def _load_exit(promotion: Promotion, artifact: Artifact) -> ExitModel:
    return exit_model(promotion.model, promotion.version, artifact, FEATURE_COUNT)


def thresholds_of(active: PolicyVersion | None) -> Thresholds:
    """The active policy's flash-crash thresholds; the SPEC's defaults without one (the
    detector protects, so it runs with or without a policy)."""
    if active is None:
        return Thresholds()
    values = active.values
    return Thresholds(values.flash_crash_drop, values.flash_crash_window_seconds * 1000)


def flash_crash_command(
    episode: Episode, active: PolicyVersion | None, now: int, thresholds: Thresholds
) -> dict[str, Any]:
    """The ``ess.command`` of an episode: REDUCE or TRIP (policy's ``flash_crash_state``)
    on the global scope or the one that crashed (``flash_crash_scope``)."""
    state = active.values.flash_crash_state if active else "TRIPPED"
    scope_choice = active.values.flash_crash_scope if active else "GLOBAL"
    scope = "global" if scope_choice == "GLOBAL" else episode.source
    kind = EssCommandKind.TRIP if state == "TRIPPED" else EssCommandKind.REDUCE
    command_id = derived_id("ess.command", episode.episode_id)
    reason = (
        f"flash crash: {episode.source} fell {episode.drop:.1%} "
        f"(from {episode.peak:g} to {episode.value:g}) within {thresholds.window_ms / 1000:g} s"
    )
    return {
        "envelope": envelope(
            SERVICE, now, event_id=command_id, causation_id=episode.cause_event_id
        ),
        "command_id": command_id,
        "scope": scope,
        "kind": kind.value,
        "trigger": EssTrigger.FLASH_CRASH.value,
        "expected_version": None,
        "by": SERVICE,
        "reason": reason,
        "cause_event_id": episode.episode_id,
    }


__all__ = ["Decision", "MonitorConfig", "PositionMonitor", "Served"]
