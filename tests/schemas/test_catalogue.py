"""The topic catalogue: names, keys, partitions, configs, DLQs and prefixes."""

from __future__ import annotations

import pytest

from schemas import catalogue
from schemas.catalogue import (
    ACCOUNT_PARTITIONS,
    ALL_TOPICS,
    DLQ_TOPICS,
    POLICY_UPDATED,
    POSITION_UPDATED,
    TOPICS,
    InvalidTopicPrefixError,
    TopicNames,
    UnknownTopicError,
    dlq_name,
    subject_name,
    topic,
)
from schemas.loader import schema_names

SPEC_TOPICS = {
    "position.updated", "position.closed", "balance.updated", "market.price", "trade.signal",
    "order.requested", "order.rejected", "risk.circuit_breaker.triggered",
    "risk.circuit_breaker.reset", "risk.warning", "policy.updated", "policy.activated",
    "strategy.switched", "model.promoted", "model.loaded", "model.load_failed", "ess.command",
    "ess.state", "ess.transition", "system.heartbeat", "system.recovery",
}  # fmt: skip
DAY_MS = 86_400_000


def test_topics_when_listed_then_match_the_spec_topic_set() -> None:
    """The catalogue has the topic set of SPEC §1 (a minimum), plus policy.command (the
    one write path of SPEC §2), order.failed (the source of SPEC §4's execution-error
    trigger), account.updated (the venue's ordered account stream, SPEC §1's delivery
    order), system.recovery.state (the supervisor's state, SPEC §7), the owners'
    answers to commands that change nothing and model.promotion.check (the promotion
    coordinator's deadline, SPEC §6)."""
    extra = {
        "policy.command",
        "order.failed",
        "account.updated",
        "system.recovery.state",
        "ess.unchanged",
        "policy.unchanged",
        "model.promotion.check",
    }
    assert {spec.name for spec in TOPICS} == SPEC_TOPICS | extra


@pytest.mark.parametrize("spec", TOPICS, ids=lambda spec: spec.name)
def test_topic_when_catalogued_then_its_value_schema_exists(spec: catalogue.TopicSpec) -> None:
    """Every event topic names a schema the loader knows."""
    assert spec.value_schema in schema_names()


def test_account_topics_when_compared_then_share_one_partition_count() -> None:
    """Co-partitioning: every account-keyed topic has ACCOUNT_PARTITIONS partitions."""
    account = [spec for spec in TOPICS if spec.key == "account"]
    assert len(account) == 11
    assert {spec.partitions for spec in account} == {ACCOUNT_PARTITIONS}


@pytest.mark.parametrize(
    ("name", "cleanup", "days"),
    [
        ("position.updated", "delete", 7),
        ("position.closed", "delete", 30),
        ("market.price", "delete", 1),
        ("risk.circuit_breaker.triggered", "delete", 365),
        ("ess.transition", "delete", 365),
        ("system.heartbeat", "delete", 1),
        ("system.recovery", "delete", 30),
        ("policy.updated", "compact", None),
        ("ess.state", "compact", None),
    ],
)
def test_topic_when_looked_up_then_has_spec_cleanup_and_retention(
    name: str, cleanup: str, days: int | None
) -> None:
    """Retention and cleanup follow the SPEC §1 table."""
    spec = topic(name)
    assert spec.cleanup == cleanup
    assert spec.retention_ms == (days * DAY_MS if days else None)


def test_compacted_topics_when_configured_then_have_no_retention_and_roll_segments() -> None:
    """Compacted control topics keep the latest value forever and compact within a day."""
    config = POLICY_UPDATED.config
    assert config["cleanup.policy"] == "compact"
    assert "retention.ms" not in config
    assert int(config["segment.ms"]) <= DAY_MS
    assert int(config["min.compaction.lag.ms"]) > 0


def test_delete_topic_when_configured_then_retention_is_a_string_of_ms() -> None:
    """Kafka topic configs are strings; retention.ms carries the catalogue's value."""
    assert POSITION_UPDATED.config == {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}


def test_dlq_when_derived_then_named_dot_dlq_deleted_after_30_days_without_schema() -> None:
    """Each topic has <topic>.dlq holding raw bytes for 30 days, same partitions."""
    dlq = topic(dlq_name("trade.signal"))
    assert dlq.name == "trade.signal.dlq"
    assert (dlq.cleanup, dlq.retention_ms, dlq.value_schema) == ("delete", 30 * DAY_MS, None)
    assert dlq.partitions == topic("trade.signal").partitions
    assert len(DLQ_TOPICS) == len(TOPICS)


def test_lookup_when_topic_unknown_then_typed_error_lists_known_topics() -> None:
    """An unknown name is refused with the name and the catalogue's topics."""
    with pytest.raises(UnknownTopicError, match=r"position\.updated") as caught:
        topic("position.update")
    assert caught.value.topic == "position.update"
    assert "ess.state" in caught.value.known


def test_names_when_prefixed_then_every_name_and_subject_carries_the_prefix() -> None:
    """A prefix isolates a test's topics and subjects on a shared broker and registry."""
    names = TopicNames("t123.")
    assert names.name(POSITION_UPDATED) == "t123.position.updated"
    assert names.dlq(POSITION_UPDATED) == "t123.position.updated.dlq"
    assert names.subject(POSITION_UPDATED) == "t123.position.updated-value"
    assert all(spec.name.startswith("t123.") for spec in names.specs())
    assert len(names.specs()) == len(ALL_TOPICS)


def test_names_when_prefixed_name_looked_up_then_spec_is_found() -> None:
    """A consumed record's topic maps back to its catalogue entry."""
    assert TopicNames("t1.").spec_of("t1.ess.state") is topic("ess.state")


def test_names_when_other_prefix_looked_up_then_unknown_topic() -> None:
    """A topic of another test's prefix is not ours."""
    with pytest.raises(UnknownTopicError):
        TopicNames("t1.").spec_of("t2.ess.state")


@pytest.mark.parametrize("prefix", ["has space.", "slash/", "x" * 300])
def test_names_when_prefix_illegal_then_refused(prefix: str) -> None:
    """A prefix that would make an illegal Kafka topic name is refused up front."""
    with pytest.raises(InvalidTopicPrefixError):
        TopicNames(prefix)


def test_subject_when_named_then_follows_topic_name_strategy() -> None:
    """Confluent's TopicNameStrategy: <topic>-value."""
    assert subject_name("market.price") == "market.price-value"


def test_topic_names_when_searched_in_module_then_spelled_only_in_specs() -> None:
    """Topic names are not exported as loose string constants beside their specs."""
    strings = [v for v in vars(catalogue).values() if isinstance(v, str) and v in SPEC_TOPICS]
    assert strings == []
