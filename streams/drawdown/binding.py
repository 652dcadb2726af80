"""The drawdown breaker inside the stream app (SPEC §3).

One agent (concurrency 1) reads ``position.updated``, ``position.closed``,
``balance.updated`` and ``risk.circuit_breaker.reset``, all keyed and partitioned by
account, so an account's events reach one worker in order. Its state lives in the
changelog-backed ``accounts`` table: a restart or rebalance restores it, peaks included.
Each event is judged with the thresholds of the policy active at that moment (read from
the worker's own view of the policy topics), so a policy change applies to the next event.

A trigger is published once per breach episode under an event id derived from its breach
id, together with an ``ess.command`` TRIP for the account whose command id is derived
the same way; a redelivered input changes nothing (the core dedupes on event ids), and a
replayed publication carries the same ids, so consumers see no second effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import faust

from schemas.catalogue import (
    ACCOUNT_PARTITIONS,
    BALANCE_UPDATED,
    CIRCUIT_BREAKER_RESET,
    CIRCUIT_BREAKER_TRIGGERED,
    ESS_COMMAND,
    POSITION_CLOSED,
    POSITION_UPDATED,
    RISK_WARNING,
    TopicNames,
)
from schemas.enums import BreachRule, EssCommandKind, EssTrigger
from schemas.envelope import envelope
from schemas.ids import derived_id
from schemas.keys import ACCOUNTS_TABLE
from schemas.serde import AvroSerde
from streams import metrics
from streams.bus import Decoded, decoded, dlq_topic, sink_topic
from streams.drawdown.breaker import check_stale, observe
from streams.drawdown.codec import state_from_json, state_to_json
from streams.drawdown.effects import BreachTriggered, Effect, RiskWarning
from streams.drawdown.events import (
    BalanceUpdated,
    DrawdownEvent,
    PositionClosed,
    PositionUpdated,
    Reset,
)
from streams.drawdown.state import AccountState, Thresholds, daily_loss, drawdown
from streams.policy.version import PolicyVersion

PRODUCER = "hfos-breaker"
SOURCES = (POSITION_UPDATED, POSITION_CLOSED, BALANCE_UPDATED, CIRCUIT_BREAKER_RESET)


class BreakerBinding:
    def __init__(
        self,
        app: faust.App,
        names: TopicNames,
        serde: AvroSerde,
        policy: Callable[[], PolicyVersion | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.names, self.serde, self.policy, self.clock = names, serde, policy, clock
        self.table = app.Table(ACCOUNTS_TABLE, default=None, partitions=ACCOUNT_PARTITIONS)
        self.kinds = {names.name(spec): spec for spec in SOURCES}
        self.dlqs = {names.name(spec): dlq_topic(app, spec, names) for spec in SOURCES}
        self.triggered = sink_topic(app, CIRCUIT_BREAKER_TRIGGERED, names, serde)
        self.warnings = sink_topic(app, RISK_WARNING, names, serde)
        self.ess = sink_topic(app, ESS_COMMAND, names, serde)
        source = app.topic(
            *self.kinds,
            key_serializer="raw",
            value_serializer="raw",
            partitions=ACCOUNT_PARTITIONS,
            internal=False,
        )
        app.agent(source, name="drawdown-breaker", concurrency=1)(self._on_events)
        app.timer(1.0, name="drawdown-staleness")(self._check_staleness)

    async def _on_events(self, stream: Any) -> None:
        async for item in decoded(
            stream, SOURCES, self.names, self.serde, self.dlqs, "drawdown-breaker"
        ):
            await self._handle(item)

    async def _handle(self, item: Decoded) -> None:
        event = to_event(self.kinds[item.topic].name, item.value)
        held = self.table.get(event.account_id)
        state = AccountState(event.account_id) if held is None else state_from_json(held)
        active = self.policy()
        thresholds = None if active is None else Thresholds.of(active)
        now = int(self.clock() * 1000)
        new_state, effects = observe(state, event, thresholds, now)
        if new_state != state:
            self.table[event.account_id] = state_to_json(new_state)
        for effect in effects:
            await self._publish(effect, now)
        _export(new_state, thresholds)
        metrics.BREAKER_EVENT_LAG_SECONDS.observe(max(0, now - event.event_time) / 1000)

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
        """SPEC §3: an account with open positions and no equity data for the policy's
        ``stale_after_seconds`` asks the ESS for REDUCING (fail closed). The cause id is
        derived from the last equity update, so one stale spell asks once."""
        active = self.policy()
        if active is None:
            return
        now = int(self.clock() * 1000)
        for account, held in list(self.table.items()):
            state = state_from_json(held)
            if check_stale(state, now, active.values.stale_after_seconds):
                await self.ess.send(
                    key=f"account:{account}".encode(),
                    value=stale_command(account, state.last_equity_at, now),
                )


def _export(state: AccountState, thresholds: Thresholds | None) -> None:
    """The account's numbers as the breaker just judged them, for the dashboard."""
    if state.equity is not None:
        account = state.account_id
        metrics.ACCOUNT_EQUITY.labels(account).set(state.equity)
        metrics.ACCOUNT_DRAWDOWN.labels(account).set(drawdown(state))
        metrics.ACCOUNT_DAILY_LOSS.labels(account).set(daily_loss(state))
    if thresholds is not None:
        for rule in (BreachRule.MAX_DRAWDOWN, BreachRule.DAILY_LOSS):
            metrics.BREAKER_LIMIT.labels(rule.value).set(thresholds.limit(rule))


def stale_command(account: str, last_equity_at: int | None, now: int) -> dict[str, Any]:
    cause = derived_id("stale-data", account, str(last_equity_at))
    return {
        "envelope": envelope(PRODUCER, now, event_id=derived_id("ess.command", cause)),
        "command_id": derived_id("ess.command", cause),
        "scope": f"account:{account}",
        "kind": EssCommandKind.REDUCE.value,
        "trigger": EssTrigger.STALE_DATA.value,
        "expected_version": None,
        "by": PRODUCER,
        "reason": f"no equity data since {last_equity_at} with positions open",
        "cause_event_id": cause,
    }


def to_event(topic: str, value: Mapping[str, Any]) -> DrawdownEvent:
    """The core's event for a decoded record of one of the breaker's source topics."""
    env = value["envelope"]
    event_id, event_time = str(env["event_id"]), int(env["event_time"])
    account = str(value["account_id"])
    if topic == POSITION_UPDATED.name:
        return PositionUpdated(
            event_id, event_time, account, str(value["symbol"]), float(value["unrealized_pnl"])
        )
    if topic == POSITION_CLOSED.name:
        return PositionClosed(
            event_id, event_time, account, str(value["symbol"]), float(value["realized_pnl"])
        )
    if topic == BALANCE_UPDATED.name:
        return BalanceUpdated(
            event_id, event_time, account, float(value["wallet_balance"]), value.get("equity")
        )
    return Reset(
        event_id,
        event_time,
        account,
        int(value["episode"]),
        str(value["by"]),
        str(value["reason"]),
        bool(value["rebase_peak"]),
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
