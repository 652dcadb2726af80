"""Provisioning the catalogue's topics, idempotently, and reading their offsets and lag.

``provision`` creates what is missing with the catalogue's partitions and configs, and
*reports* — never silently accepts or alters — a topic that exists with another partition
count or cleanup policy: changing either on a live topic remaps keys or deletes data, which
is an operator's decision.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    PartitionMetadata,
)

from schemas.catalogue import TopicSpec
from services.bus.exceptions import BusError

_TIMEOUT = 30.0


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    MISMATCHED = "mismatched"


@dataclass(frozen=True)
class TopicReport:
    topic: str
    outcome: Outcome
    problems: tuple[str, ...] = ()


class TopicMismatchError(BusError):
    """Topics exist with settings that contradict the catalogue."""

    def __init__(self, reports: list[TopicReport]) -> None:
        lines = [f"{r.topic}: {'; '.join(r.problems)}" for r in reports]
        super().__init__(
            "topics differ from the catalogue (fix them by hand or recreate them):\n  "
            + "\n  ".join(lines)
        )
        self.reports = reports


def provision(
    admin: AdminClient, specs: Iterable[TopicSpec], replication_factor: int = 1
) -> list[TopicReport]:
    """Create missing topics; report existing ones as unchanged or mismatched."""
    specs = list(specs)
    existing = admin.list_topics(timeout=_TIMEOUT).topics
    missing = [spec for spec in specs if spec.name not in existing]
    reports = [
        _check(admin, spec, len(existing[spec.name].partitions))
        for spec in specs
        if spec.name in existing
    ]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(spec.name, spec.partitions, replication_factor, config=spec.config)
                for spec in missing
            ]
        )
        reports.extend(_created_or_check(admin, spec, futures[spec.name]) for spec in missing)
        wait_until_visible(admin, {spec.name: spec.partitions for spec in missing})
    return sorted(reports, key=lambda report: report.topic)


def apply_configs(admin: AdminClient, specs: Iterable[TopicSpec]) -> None:
    """Set each existing topic's configs to its spec's (an incremental alter: configs the
    spec does not name keep their values). For configs that never delete a key's latest
    value — segment rolling, compaction lag — never for partitions or cleanup policy."""
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            spec.name,
            incremental_configs=[
                ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                for name, value in spec.config.items()
                if name != "cleanup.policy"
            ],
        )
        for spec in specs
    ]
    if not resources:
        return
    for resource, future in admin.incremental_alter_configs(resources).items():
        try:
            future.result(_TIMEOUT)
        except KafkaException as error:
            raise BusError(f"{resource.name}: configs not applied: {error}") from None


def wait_until_visible(
    admin: AdminClient, partitions: Mapping[str, int], timeout: float = _TIMEOUT
) -> None:
    """Wait until the broker's metadata shows every topic with its partitions led.

    CreateTopics is answered once the controller has the topic; the broker that serves
    metadata and configs can lag behind it for a moment (KRaft), and a DescribeConfigs or
    a first produce in that moment fails with UNKNOWN_TOPIC_OR_PART.
    """
    deadline = time.monotonic() + timeout
    pending = dict(partitions)
    while pending:
        topics = admin.list_topics(timeout=_TIMEOUT).topics
        for name, count in list(pending.items()):
            meta = topics.get(name)
            if meta is not None and meta.error is None and _led(meta.partitions, count):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise BusError(f"topics not visible after {timeout:.0f} s: {sorted(pending)}")
        time.sleep(0.05)


def _led(partitions: Mapping[int, PartitionMetadata], count: int) -> bool:
    return len(partitions) == count and all(
        partition.leader >= 0 and partition.error is None for partition in partitions.values()
    )


def _created_or_check(admin: AdminClient, spec: TopicSpec, future: Future[None]) -> TopicReport:
    try:
        future.result(timeout=_TIMEOUT)
    except KafkaException as error:
        # Another provisioner won the race, or the metadata we listed was a moment stale:
        # the topic exists, so check it like any other existing topic.
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
        # The winner's topic exists at the controller; this broker may not show it yet,
        # and describing it then fails with UNKNOWN_TOPIC_OR_PART (two workers starting
        # together, each provisioning the changelogs: the second one exited).
        return _check(admin, spec, _visible_partitions(admin, spec.name))
    return TopicReport(spec.name, Outcome.CREATED)


def _visible_partitions(admin: AdminClient, topic: str, timeout: float = _TIMEOUT) -> int:
    """The partition count of ``topic`` once the broker shows it with every partition led
    (whatever the count: a mismatch is reported by the caller, not waited for)."""
    deadline = time.monotonic() + timeout
    while True:
        meta = admin.list_topics(topic, timeout=_TIMEOUT).topics.get(topic)
        partitions = {} if meta is None or meta.error is not None else meta.partitions
        if partitions and _led(partitions, len(partitions)):
            return len(partitions)
        if time.monotonic() > deadline:
            raise BusError(f"topic {topic} not visible after {timeout:.0f} s")
        time.sleep(0.05)


def _check(admin: AdminClient, spec: TopicSpec, partitions: int) -> TopicReport:
    problems = []
    if partitions != spec.partitions:
        problems.append(f"{partitions} partitions, catalogue says {spec.partitions}")
    resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name)
    configs = admin.describe_configs([resource])[resource].result(timeout=_TIMEOUT)
    cleanup = configs["cleanup.policy"].value
    if cleanup != spec.cleanup:
        problems.append(f"cleanup.policy={cleanup}, catalogue says {spec.cleanup}")
    outcome = Outcome.MISMATCHED if problems else Outcome.UNCHANGED
    return TopicReport(spec.name, outcome, tuple(problems))


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    low: int
    high: int
    committed: int | None

    @property
    def lag(self) -> int | None:
        return None if self.committed is None else max(self.high - self.committed, 0)


def offsets(
    client_config: Mapping[str, str], topic: str, partitions: int, group: str | None = None
) -> list[PartitionOffsets]:
    """Low/high watermarks of each partition and, with ``group``, its committed offset."""
    consumer = Consumer(
        {**client_config, "group.id": group or "hfos-inspect", "enable.auto.commit": False}
    )
    try:
        committed: dict[int, int | None] = {}
        if group is not None:
            parts = [TopicPartition(topic, p) for p in range(partitions)]
            for tp in consumer.committed(parts, timeout=_TIMEOUT):
                committed[tp.partition] = tp.offset if tp.offset >= 0 else None
        result = []
        for partition in range(partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=_TIMEOUT
            )
            result.append(PartitionOffsets(topic, partition, low, high, committed.get(partition)))
        return result
    finally:
        consumer.close()
