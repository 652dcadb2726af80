"""The drawdown breaker inside the stream app (SPEC §3).

One agent (concurrency 1) reads ``account.updated`` — the venue's whole account after
each change, in the venue's order — and ``risk.circuit_breaker.reset``, both keyed and
partitioned by account. The per-kind topics (``balance.updated``, ``position.*``) are not
read: Kafka orders no two topics against each other, and the breaker's equity once
depended on how it interleaved them (SPEC §1, delivery order). Its state lives in the
changelog-backed ``accounts`` table: a restart or rebalance restores it, peaks included.
Each event is judged with the thresholds of the policy active at that moment (read from
the worker's own view of the policy topics), so a policy change applies to the next event.

A trigger is published once per breach episode under an event id derived from its breach
id, together with an ``ess.command`` TRIP for the account whose command id is derived
the same way; a redelivered update changes nothing (its sequence is not above the one
applied), and a replayed publication carries the same ids, so consumers see no second
effect. A record the core refuses (an account mismatch, a value out of range) goes to its
DLQ; the agent never crashes on input.

Events are taken in batches (what is already waiting, up to :data:`BATCH_EVENTS`;
:func:`streams.bus.ready_batches`): a lone update is judged at once, and each account's
updates of a batch are judged one by one, in order, with the policy active at the batch,
and its state is written to the table once — one changelog record per account and
batch, not per event. Faust acknowledges a batch's events only after the agent is done
with it, and flushes the changelog and the effects before it commits their offsets: a
crash redelivers the batch, which changes nothing twice. The table is keyed by the
account id's bytes and partitions its changelog with the producers' partitioner
(``use_partitioner``): the same murmur2 that placed the account's updates, so an
account's state lives on the partition number of its input whichever event of a batch
wrote it.

Staleness (SPEC §3) is the venue's silence, never the worker's lag: an account is judged
only against a moment up to which the worker had read everything of its partition (the
watchdog's :meth:`~streams.watchdog.Watchdog.caught_up_at`), and a stale spell — one last
update left unanswered for ``stale_after_seconds`` — asks the ESS for REDUCING once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import faust

from schemas.catalogue import (
    ACCOUNT_PARTITIONS,
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_RESET,
    CIRCUIT_BREAKER_TRIGGERED,
    ESS_COMMAND,
    RISK_WARNING,
    TopicNames,
)
from schemas.enums import BreachRule, EssCommandKind, EssTrigger
from schemas.envelope import envelope
from schemas.ids import derived_id
from schemas.keys import ACCOUNTS_TABLE
from schemas.partitioner import partition_of
from schemas.serde import AvroSerde
from streams import metrics, timers
from streams.bus import Decoded, EventDecoder, dead_letter, dlq_topic, ready_batches, sink_topic
from streams.drawdown.breaker import check_stale, observe
from streams.drawdown.codec import decode_state, encode_state
from streams.drawdown.effects import BreachTriggered, Effect, RiskWarning
from streams.drawdown.events import AccountUpdate, DrawdownEvent, Reset
from streams.drawdown.exceptions import DrawdownError, InvalidEventError
from streams.drawdown.state import AccountState, Thresholds, daily_loss, drawdown
from streams.policy.version import PolicyVersion

log = logging.getLogger(__name__)
PRODUCER = "hfos-breaker"
BATCH_EVENTS = 500
"""Events judged together at most (Faust hands a worker at most 500 records per fetch)."""
SOURCES = (ACCOUNT_UPDATED, CIRCUIT_BREAKER_RESET)
CaughtUp = Callable[[str, int], int | None]
"""(topic, partition) -> epoch ms up to which the worker read all of it, or None."""


class BreakerBinding:
    def __init__(
        self,
        app: faust.App,
        names: TopicNames,
        serde: AvroSerde,
        policy: Callable[[], PolicyVersion | None],
        caught_up_at: CaughtUp,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.names, self.serde, self.policy = app, names, serde, policy
        self.caught_up_at, self.clock = caught_up_at, clock
        self.table = app.Table(
            ACCOUNTS_TABLE,
            default=None,
            partitions=ACCOUNT_PARTITIONS,
            key_type=bytes,  # raw bytes both ways (Faust's "raw" serializer)
            value_type=bytes,
            use_partitioner=True,
        )
        self.kinds = {names.name(spec): spec for spec in SOURCES}
        self.dlqs = {names.name(spec): dlq_topic(app, spec, names) for spec in SOURCES}
        self.triggered = sink_topic(app, CIRCUIT_BREAKER_TRIGGERED, names, serde)
        self.warnings = sink_topic(app, RISK_WARNING, names, serde)
        self.ess = sink_topic(app, ESS_COMMAND, names, serde)
        self.watch = StaleWatch()
        source = app.topic(
            *self.kinds,
            key_serializer="raw",
            value_serializer="raw",
            partitions=ACCOUNT_PARTITIONS,
            internal=False,
        )
        app.agent(source, name="drawdown-breaker", concurrency=1)(self._on_events)
        timers.register(app, 1.0, "drawdown-staleness", self._check_staleness)

    async def _on_events(self, stream: Any) -> None:
        decoder = EventDecoder(SOURCES, self.names, self.serde, self.dlqs, "drawdown-breaker")
        async for events in ready_batches(stream, BATCH_EVENTS):
            started = time.perf_counter()
            items = [item for item in [await decoder.decode(e) for e in events] if item]
            await self._judge_batch(items)
            metrics.BREAKER_BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _judge_batch(self, items: list[Decoded]) -> None:
        """Judge each account's events of a batch in order; one table write per account."""
        active = self.policy()
        thresholds = None if active is None else Thresholds.of(active)
        now = int(self.clock() * 1000)
        effects: list[Effect] = []
        for account, account_items in _by_account(items).items():
            state = before = self._load(account)
            for item in account_items:
                try:
                    event = to_event(self.kinds[item.topic].name, item.value, item.offset)
                    state, produced = observe(state, event, thresholds, now)
                except DrawdownError as refused:
                    log.warning("breaker refused %s:%s@%s: %s", *_where(item), refused)
                    await dead_letter(self.dlqs[item.topic], item, refused, "drawdown-breaker")
                    continue
                effects.extend(produced)
                metrics.BREAKER_EVENT_LAG_SECONDS.observe(max(0, now - event.event_time) / 1000)
            if state != before:
                self.table[account.encode()] = encode_state(state)
                self.watch.track(state, account_items[-1].partition)
                _export(state)
        _export_limits(thresholds)
        for effect in effects:
            await self._publish(effect, now)

    def _load(self, account: str) -> AccountState:
        held = self.table.get(account.encode())
        return AccountState(account) if held is None else decode_state(held)

    async def _publish(self, effect: Effect, now: int) -> None:
        key = effect.account_id.encode()
        if isinstance(effect, BreachTriggered):
            metrics.BREAKER_TRIPS.labels(effect.rule.value).inc()
            await self.triggered.send(key=key, value=trigger_record(effect, now))
            await self.ess.send(
                key=f"account:{effect.account_id}".encode(), value=trip_command(effect, now)
            )
        elif isinstance(effect, RiskWarning):
            await self.warnings.send(key=key, value=warning_record(effect, now))

    async def _check_staleness(self) -> None:
        """SPEC §3: an account with open positions and no update for the policy's
        ``stale_after_seconds`` asks the ESS for REDUCING (fail closed), judged against
        the moment its partition was last read to its end; once per stale spell."""
        active = self.policy()
        if active is None or not self._recovered():
            return
        if self.watch.needs_rebuild(self._assigned()):
            self.watch.rebuild(
                (decode_state(held) for held in self.table.values()), self._assigned()
            )
        topic = self.names.name(ACCOUNT_UPDATED)
        bound = active.values.stale_after_seconds
        for state, partition in self.watch.open_accounts():
            as_of = self.caught_up_at(topic, partition)
            if as_of is None or not check_stale(state, as_of, bound):
                continue
            if self.watch.ask_once(state):
                log.warning(
                    "%s: positions open and no account update since %s (as of %s): "
                    "asking the ESS for REDUCING",
                    state.account_id,
                    state.last_equity_at,
                    as_of,
                )
                await self.ess.send(
                    key=f"account:{state.account_id}".encode(),
                    value=stale_command(state.account_id, state.last_equity_at, as_of),
                )

    def _recovered(self) -> bool:
        recovery = getattr(self.app.tables, "recovery", None)
        return recovery is not None and recovery.completed.is_set()

    def _assigned(self) -> frozenset[int]:
        topic = self.names.name(ACCOUNT_UPDATED)
        return frozenset(tp.partition for tp in self.app.consumer.assignment() if tp.topic == topic)


class StaleWatch:
    """The accounts with open positions, kept beside the table so that the 1 s staleness
    check reads a handful of states instead of decoding every account's. Rebuilt from the
    table when this worker's partitions change (a restart, a rebalance)."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[AccountState, int]] = {}
        self._partitions: frozenset[int] | None = None
        self._asked: dict[str, int | None] = {}
        """Account -> the last update time of the stale spell already reported."""

    def track(self, state: AccountState, partition: int) -> None:
        if state.positions:
            self._open[state.account_id] = (state, partition)
        else:
            self._open.pop(state.account_id, None)
        if self._asked.get(state.account_id, -1) != state.last_equity_at:
            self._asked.pop(state.account_id, None)  # a new update ends the spell

    def needs_rebuild(self, assigned: frozenset[int]) -> bool:
        return self._partitions != assigned

    def rebuild(self, states: Any, assigned: frozenset[int]) -> None:
        self._open.clear()
        for state in states:
            partition = partition_of(state.account_id.encode(), ACCOUNT_PARTITIONS)
            if partition in assigned:
                self.track(state, partition)
        self._partitions = assigned

    def open_accounts(self) -> list[tuple[AccountState, int]]:
        return list(self._open.values())

    def ask_once(self, state: AccountState) -> bool:
        """True the first time ``state``'s stale spell is reported."""
        if state.account_id in self._asked:
            return False
        self._asked[state.account_id] = state.last_equity_at
        return True


def _export(state: AccountState) -> None:
    """The account's numbers as the breaker just judged them, for the dashboard."""
    if state.equity is not None:
        account = state.account_id
        metrics.ACCOUNT_EQUITY.labels(account).set(state.equity)
        metrics.ACCOUNT_DRAWDOWN.labels(account).set(drawdown(state))
        metrics.ACCOUNT_DAILY_LOSS.labels(account).set(daily_loss(state))


def _export_limits(thresholds: Thresholds | None) -> None:
    """The limits a batch was judged against (once per batch, not per account)."""
    if thresholds is not None:
        for rule in (BreachRule.MAX_DRAWDOWN, BreachRule.DAILY_LOSS):
            metrics.BREAKER_LIMIT.labels(rule.value).set(thresholds.limit(rule))


def _by_account(items: list[Decoded]) -> dict[str, list[Decoded]]:
    """A batch's events per account, each account's in the order they were read."""
    grouped: dict[str, list[Decoded]] = {}
    for item in items:
        grouped.setdefault(str(item.value["account_id"]), []).append(item)
    return grouped


def _where(item: Decoded) -> tuple[str, int, int]:
    return item.topic, item.partition, item.offset


def stale_command(account: str, last_equity_at: int | None, as_of: int) -> dict[str, Any]:
    """REDUCE for a stale spell; its cause is derived from the account and its last
    update, so a worker that asks again after a restart repeats the same command id and
    the ESS applies it once."""
    cause = derived_id("stale-data", account, str(last_equity_at))
    return {
        "envelope": envelope(PRODUCER, as_of, event_id=derived_id("ess.command", cause)),
        "command_id": derived_id("ess.command", cause),
        "scope": f"account:{account}",
        "kind": EssCommandKind.REDUCE.value,
        "trigger": EssTrigger.STALE_DATA.value,
        "expected_version": None,
        "by": PRODUCER,
        "reason": f"positions open and no account update since {last_equity_at}",
        "cause_event_id": cause,
    }


def to_event(topic: str, value: Mapping[str, Any], offset: int) -> DrawdownEvent:
    """The core's event for a decoded record of one of the breaker's source topics
    (catalogue name ``topic``) read at ``offset``; :class:`InvalidEventError` for a
    snapshot that lists a position twice."""
    env = value["envelope"]
    event_id, event_time = str(env["event_id"]), int(env["event_time"])
    account = str(value["account_id"])
    if topic == ACCOUNT_UPDATED.name:
        positions = {str(p["symbol"]): float(p["unrealized_pnl"]) for p in value["positions"]}
        if len(positions) != len(value["positions"]):
            raise InvalidEventError(event_id, "positions", "a symbol listed twice")
        return AccountUpdate(
            event_id,
            event_time,
            account,
            int(value["sequence"]),
            float(value["wallet_balance"]),
            value.get("equity"),
            positions,
        )
    return Reset(
        event_id,
        event_time,
        account,
        int(value["episode"]),
        str(value["by"]),
        str(value["reason"]),
        bool(value["rebase_peak"]),
        offset,
    )


def trigger_record(effect: BreachTriggered, now: int) -> dict[str, Any]:
    return {
        "envelope": envelope(
            PRODUCER,
            now,
            event_id=effect.event_id,
            correlation_id=effect.tipping_event_id,
            causation_id=effect.tipping_event_id,
        ),
        "breach_id": effect.breach_id,
        "account_id": effect.account_id,
        "rule": effect.rule.value,
        "episode": effect.episode,
        "drawdown": effect.drawdown,
        "daily_loss": effect.daily_loss,
        "threshold": effect.threshold,
        "equity": effect.equity,
        "peak_equity": effect.peak_equity,
        "day_start_equity": effect.day_start_equity,
        "policy_profile": effect.policy_profile.value,
        "policy_version": effect.policy_version,
        "policy_hash": effect.policy_hash,
        "tipping_event_id": effect.tipping_event_id,
    }


def trip_command(effect: BreachTriggered, now: int) -> dict[str, Any]:
    """The ESS command a breach sends: TRIP the account, caused by the trigger event."""
    command_id = derived_id("ess.command", effect.breach_id)
    return {
        "envelope": envelope(
            PRODUCER,
            now,
            event_id=command_id,
            correlation_id=effect.tipping_event_id,
            causation_id=effect.event_id,
        ),
        "command_id": command_id,
        "scope": f"account:{effect.account_id}",
        "kind": EssCommandKind.TRIP.value,
        "trigger": EssTrigger.CIRCUIT_BREAKER.value,
        "expected_version": None,
        "by": PRODUCER,
        "reason": f"breach {effect.breach_id}: {effect.rule.value} over {effect.threshold}",
        "cause_event_id": effect.event_id,
    }


def warning_record(effect: RiskWarning, now: int) -> dict[str, Any]:
    return {
        "envelope": envelope(
            PRODUCER,
            now,
            event_id=effect.event_id,
            correlation_id=effect.cause_event_id,
            causation_id=effect.cause_event_id,
        ),
        "warning_id": effect.warning_id,
        "account_id": effect.account_id,
        "rule": effect.rule.value,
        "episode": effect.episode,
        "value": effect.value,
        "limit": effect.limit,
        "warn_fraction": effect.warn_fraction,
        "policy_profile": effect.policy_profile.value,
        "policy_version": effect.policy_version,
        "policy_hash": effect.policy_hash,
    }
