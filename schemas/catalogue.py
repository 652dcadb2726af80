"""The topic catalogue: the one place topic names are spelled (SPEC §1).

Topics are provisioned, documented and looked up from :data:`ALL_TOPICS`. Every other
module refers to a topic through its :class:`TopicSpec` constant (``POSITION_UPDATED.name``)
or through :class:`TopicNames`, which adds a per-test prefix on a shared broker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from schemas.errors import HfosError

Cleanup = Literal["delete", "compact"]

_DAY_MS = 24 * 60 * 60 * 1000

# Every account-keyed topic has this many partitions, so that the one partitioner every
# producer uses (Java's murmur2(key) % partitions, schemas/partitioner.py) sends an account
# to the same partition number on each of them: that co-partitioning is what lets one
# worker own all of an account's state.
# 12 splits evenly over 1, 2, 3, 4, 6 or 12 stream workers, the unit of scale-out (a
# worker owns whole partitions); it is fixed up front because adding partitions later
# remaps keys and breaks per-account ordering; and it stays cheap on a single-node broker
# (12 x 26 account topics and their DLQs of files per deployment, not thousands).
ACCOUNT_PARTITIONS = 12

# Control state (policies, strategies, models, the ESS) is tiny (a few events a day) and
# every process needs all of it: one partition gives one total order per topic, a single
# end offset to read up to before the state counts as loaded, and is what faust's
# GlobalTable needs (partitions=1, see STACK.md).
CONTROL_PARTITIONS = 1

# A compacted topic keeps every version for at least an hour, so a consumer lagging by
# less than that still sees each intermediate version, not only the latest.
_MIN_COMPACTION_LAG_MS = 60 * 60 * 1000
# Kafka never compacts the active segment; rolling daily (default 7 d) bounds what a new
# process must read through on start-up to about one day of superseded versions.
_COMPACTED_SEGMENT_MS = _DAY_MS

DLQ_SUFFIX = ".dlq"
DLQ_RETENTION_MS = 30 * _DAY_MS

# Kafka's legal topic characters and length limit.
_LEGAL_NAME = re.compile(r"[A-Za-z0-9._-]*")
_MAX_NAME_LENGTH = 249


class UnknownTopicError(HfosError):
    """A topic name that is not in the catalogue."""

    def __init__(self, topic: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown topic {topic!r}; the catalogue has: {', '.join(known)}")
        self.topic = topic
        self.known = known


class InvalidTopicPrefixError(HfosError):
    """A topic prefix that would make illegal Kafka topic names."""

    def __init__(self, prefix: str, problem: str) -> None:
        super().__init__(f"topic prefix {prefix!r}: {problem}")
        self.prefix = prefix
        self.problem = problem


@dataclass(frozen=True)
class TopicSpec:
    """What a topic is: its name, key, value schema and retention."""

    name: str
    key: str
    """What the (plain string) key identifies, e.g. ``"account"``."""
    value_schema: str | None
    """Full name of the Avro value schema; None for a DLQ, whose values are raw bytes."""
    partitions: int
    cleanup: Cleanup
    retention_ms: int | None
    """None: kept forever (compacted topics keep the latest value per key)."""
    description: str
    key_field: str | None = None
    """The value field the record key must equal (``account_id`` for account topics): a
    record keyed otherwise sits on another key's partition, out of its key's order, and
    is dead-lettered. None: the key is free (a DLQ's, a heartbeat's)."""
    overrides: tuple[tuple[str, str], ...] = ()
    """Topic configs that replace the defaults of its cleanup (a changelog's compaction)."""

    @property
    def config(self) -> dict[str, str]:
        """Topic-level configuration for ``CreateTopics`` (Kafka takes strings)."""
        return topic_config(self)


_KEY_FIELDS = {
    "account": "account_id",
    "symbol": "symbol",
    "scope": "scope",
    "profile": "profile",
    "model": "model_name",
    "subsystem": "subsystem",
}
"""What each kind of key is, as a field of the value."""


def _account(name: str, schema: str, days: int, description: str) -> TopicSpec:
    retention = days * _DAY_MS
    return TopicSpec(
        name, "account", schema, ACCOUNT_PARTITIONS, "delete", retention, description, "account_id"
    )


def _control(name: str, key: str, schema: str, description: str) -> TopicSpec:
    return TopicSpec(
        name, key, schema, CONTROL_PARTITIONS, "compact", None, description, _KEY_FIELDS.get(key)
    )


def _log(name: str, key: str, schema: str, days: int, description: str) -> TopicSpec:
    """A single-partition audit or coordination log, read whole by one consumer."""
    retention = days * _DAY_MS
    return TopicSpec(
        name,
        key,
        schema,
        CONTROL_PARTITIONS,
        "delete",
        retention,
        description,
        _KEY_FIELDS.get(key),
    )


# The venue's account changes in the one order it made them (SPEC §1, delivery order): the
# breaker, the executor and the exchange's rebuild read an account from here alone.
ACCOUNT_UPDATED = _account(
    "account.updated",
    "hfos.AccountUpdated",
    7,
    "The venue's whole account after each change, in the venue's order.",
)
POSITION_UPDATED = _account(
    "position.updated", "hfos.PositionUpdated", 7, "Current state of each open position."
)
POSITION_CLOSED = _account(
    "position.closed", "hfos.PositionClosed", 30, "Closed positions with realized PnL."
)
BALANCE_UPDATED = _account(
    "balance.updated", "hfos.BalanceUpdated", 7, "Wallet balance (and equity if known)."
)
TRADE_SIGNAL = _account("trade.signal", "hfos.TradeSignal", 7, "Model trading intents.")
ORDER_REQUESTED = _account(
    "order.requested", "hfos.OrderRequested", 30, "Executor decisions that became orders."
)
ORDER_REJECTED = _account(
    "order.rejected", "hfos.OrderRejected", 30, "Executor decisions refusing a signal."
)
ORDER_FAILED = _account(
    "order.failed", "hfos.OrderFailed", 30, "Orders a venue could not execute (typed reason)."
)
CIRCUIT_BREAKER_TRIGGERED = _account(
    "risk.circuit_breaker.triggered",
    "hfos.CircuitBreakerTriggered",
    365,
    "One breach record per account breach episode.",
)
CIRCUIT_BREAKER_RESET = _account(
    "risk.circuit_breaker.reset",
    "hfos.CircuitBreakerReset",
    365,
    "Operator resets ending a breach episode.",
)
RISK_WARNING = _account(
    "risk.warning", "hfos.RiskWarning", 30, "An account used warn_fraction of a limit."
)
# Every consumer of prices (paper exchange, staleness checks) needs every symbol, i.e. a
# global table, which faust only supports on one partition; one partition carries far
# more than a feed of a few hundred symbols ticking per second.
MARKET_PRICE = TopicSpec(
    "market.price",
    "symbol",
    "hfos.MarketPrice",
    1,
    "delete",
    _DAY_MS,
    "Last price per symbol.",
    "symbol",
)
POLICY_UPDATED = _control(
    "policy.updated", "profile", "hfos.PolicyUpdated", "Risk profile versions (SPEC §2)."
)
# Every policy write goes through this one partition, so the stream app sees all writers'
# commands in one order and compare-and-set decides exactly one winner.
POLICY_COMMAND = _log(
    "policy.command", "profile", "hfos.PolicyCommand", 30, "Requests to change the policy."
)
POLICY_ACTIVATED = _control(
    "policy.activated", "scope", "hfos.PolicyActivated", "Which profile is active per scope."
)
STRATEGY_SWITCHED = _control(
    "strategy.switched", "scope", "hfos.StrategySwitched", "Strategy in force per scope."
)
MODEL_PROMOTED = _control(
    "model.promoted", "model", "hfos.ModelPromoted", "Model promotions and rollbacks."
)
ESS_STATE = _control(
    "ess.state", "scope", "hfos.EssScopeState", "Current emergency-stop state per scope."
)
# Acknowledgements only matter during a promotion's 30 s window; a week keeps them for
# investigation. One partition: the promotion coordinator must see every ack of a model.
MODEL_LOADED = _log("model.loaded", "model", "hfos.ModelLoaded", 7, "Model load acknowledgements.")
MODEL_LOAD_FAILED = _log(
    "model.load_failed", "model", "hfos.ModelLoadFailed", 7, "Failed model loads."
)
# The promotion coordinator's own deadline checks (SPEC §6): its timer may not write the
# coordinator's table, so it asks the agent here. One partition, beside model.promoted,
# model.loaded and model.load_failed, which one agent reads together.
MODEL_PROMOTION_CHECK = _log(
    "model.promotion.check",
    "model",
    "hfos.ModelPromotionCheck",
    7,
    "The promotion coordinator's timer asking its agent to judge a promotion.",
)
# Commands, state and transitions share one partition so that the ESS sees every command
# in order and compare-and-set on versions is decided by one owner.
ESS_COMMAND = _log("ess.command", "scope", "hfos.EssCommand", 30, "Commands to the ESS.")
ESS_TRANSITION = _log(
    "ess.transition", "scope", "hfos.EssTransition", 365, "Audit of every ESS state change."
)
# A command that changes nothing is answered here (the state in force and why), so the
# CLI waiting for an answer never waits out its timeout on a healthy worker; a week is
# ample for an answer read within seconds.
ESS_UNCHANGED = _log(
    "ess.unchanged", "scope", "hfos.EssUnchanged", 7, "ESS commands that changed nothing."
)
POLICY_UNCHANGED = _log(
    "policy.unchanged",
    "profile",
    "hfos.PolicyUnchanged",
    7,
    "Policy commands that changed nothing.",
)
SYSTEM_HEARTBEAT = _log(
    "system.heartbeat", "service instance", "hfos.SystemHeartbeat", 1, "Liveness of services."
)
SYSTEM_RECOVERY = _log(
    "system.recovery", "subsystem", "hfos.SystemRecovery", 30, "Recovery attempts, outcomes."
)
# The history above is kept 30 days; the supervisor's own state (episode numbers, attempt
# counts) must outlive that, or a subsystem quiet for a month would start again at
# episode 1 and reuse the ids its escalations were derived from.
RECOVERY_STATE = _control(
    "system.recovery.state",
    "subsystem",
    "hfos.RecoveryState",
    "The supervisor's state per subsystem (open episodes, attempt counts).",
)

TOPICS: tuple[TopicSpec, ...] = (
    ACCOUNT_UPDATED,
    POSITION_UPDATED,
    POSITION_CLOSED,
    BALANCE_UPDATED,
    MARKET_PRICE,
    TRADE_SIGNAL,
    ORDER_REQUESTED,
    ORDER_REJECTED,
    ORDER_FAILED,
    CIRCUIT_BREAKER_TRIGGERED,
    CIRCUIT_BREAKER_RESET,
    RISK_WARNING,
    POLICY_UPDATED,
    POLICY_COMMAND,
    POLICY_ACTIVATED,
    STRATEGY_SWITCHED,
    MODEL_PROMOTED,
    MODEL_LOADED,
    MODEL_LOAD_FAILED,
    MODEL_PROMOTION_CHECK,
    ESS_COMMAND,
    ESS_STATE,
    ESS_TRANSITION,
    ESS_UNCHANGED,
    POLICY_UNCHANGED,
    SYSTEM_HEARTBEAT,
    SYSTEM_RECOVERY,
    RECOVERY_STATE,
)
"""Every event topic, each with an Avro value schema."""


def dlq_name(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}{DLQ_SUFFIX}"


def dlq_spec(spec: TopicSpec) -> TopicSpec:
    """The dead-letter topic of ``spec``: same key and partitions, raw bytes, 30 days.

    Same partition count so that a replay from the DLQ keeps each key on its partition.
    """
    return TopicSpec(
        name=dlq_name(spec.name),
        key=spec.key,
        value_schema=None,
        partitions=spec.partitions,
        cleanup="delete",
        retention_ms=DLQ_RETENTION_MS,
        description=f"Undecodable or invalid records of {spec.name} (raw bytes, error headers).",
    )


DLQ_TOPICS: tuple[TopicSpec, ...] = tuple(dlq_spec(spec) for spec in TOPICS)
ALL_TOPICS: tuple[TopicSpec, ...] = TOPICS + DLQ_TOPICS
"""Every topic to provision: the event topics and their DLQs."""

_BY_NAME = {spec.name: spec for spec in ALL_TOPICS}


def topic(name: str) -> TopicSpec:
    """The spec of the (unprefixed) topic ``name``; raises :class:`UnknownTopicError`."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownTopicError(name, tuple(_BY_NAME)) from None


def topic_config(spec: TopicSpec) -> dict[str, str]:
    """Kafka topic configs of ``spec``."""
    config: dict[str, str] = {"cleanup.policy": spec.cleanup}
    if spec.retention_ms is not None:
        config["retention.ms"] = str(spec.retention_ms)
    if spec.cleanup == "compact":
        config["min.compaction.lag.ms"] = str(_MIN_COMPACTION_LAG_MS)
        config["segment.ms"] = str(_COMPACTED_SEGMENT_MS)
    config.update(spec.overrides)
    return config


CHANGELOG_COMPACTION: tuple[tuple[str, str], ...] = (
    # Kafka never compacts the active segment: rolled every minute (or at 16 MiB), a
    # table's changelog holds its latest records plus about a minute of superseded ones,
    # which bounds what a restarted worker reads to recover — not a day of every write
    # (one run's accounts changelog reached ~250 MB; recovery grew from 1 s to 53 s).
    ("segment.ms", str(60 * 1000)),
    ("segment.bytes", str(16 * 1024 * 1024)),
    # A table is recovered from the latest value of each key; nobody reads a superseded
    # one, so it may go at once, and the cleaner runs as soon as a tenth of the log is
    # dirty (the broker default is half).
    ("min.compaction.lag.ms", "0"),
    ("min.cleanable.dirty.ratio", "0.1"),
)
"""Configs of the stream worker's table changelogs (``services.worker``)."""


def subject_name(topic_name: str) -> str:
    """Schema-registry subject of the topic's values (Confluent TopicNameStrategy)."""
    return f"{topic_name}-value"


@dataclass(frozen=True)
class TopicNames:
    """Topic names under a prefix, so that tests on a shared broker do not collide.

    ``TopicNames()`` gives the production names; ``TopicNames("t-3f2a.")`` isolated ones.
    """

    prefix: str = ""

    def __post_init__(self) -> None:
        if not _LEGAL_NAME.fullmatch(self.prefix):
            raise InvalidTopicPrefixError(self.prefix, "use only letters, digits, '.', '_', '-'")
        longest = max(len(spec.name) for spec in ALL_TOPICS)
        if len(self.prefix) + longest > _MAX_NAME_LENGTH:
            limit = _MAX_NAME_LENGTH - longest
            raise InvalidTopicPrefixError(self.prefix, f"too long; use at most {limit} characters")

    def name(self, spec: TopicSpec) -> str:
        """The actual topic name of ``spec``."""
        return f"{self.prefix}{spec.name}"

    def dlq(self, spec: TopicSpec) -> str:
        """The actual dead-letter topic name of ``spec``."""
        return f"{self.prefix}{dlq_name(spec.name)}"

    def subject(self, spec: TopicSpec) -> str:
        """The schema-registry subject of ``spec``'s values under this prefix."""
        return subject_name(self.name(spec))

    def spec_of(self, actual_name: str) -> TopicSpec:
        """The spec of an actual (prefixed) topic name, e.g. from a consumed record."""
        if not actual_name.startswith(self.prefix):
            raise UnknownTopicError(actual_name, tuple(self.name(s) for s in ALL_TOPICS))
        return topic(actual_name.removeprefix(self.prefix))

    def specs(self) -> tuple[TopicSpec, ...]:
        """Every topic of :data:`ALL_TOPICS` renamed under this prefix, for provisioning."""
        return tuple(replace(spec, name=self.name(spec)) for spec in ALL_TOPICS)
