"""What the breaker holds per account, read from its table's changelog.

The changelog is the table's durable form — Faust restores the table from it on every
start — and compacted, so reading it to its end gives each account's latest state:
equity, peak, day start, open positions, episode and latch, exactly as the breaker judges
them. Read-only; a process that is not the stream worker never writes it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from schemas.errors import HfosError
from schemas.keys import ACCOUNTS_TABLE
from services.bus.producer import LIBRDKAFKA_LOG
from streams.drawdown.codec import decode_state
from streams.drawdown.state import AccountState, daily_loss, drawdown


class BreakerStateUnavailableError(HfosError):
    """The breaker's changelog is missing or was not read to its end in time."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(
            f"{topic}: {problem}; is the stream worker (hfos worker) running under this "
            "app id (--app-id, default <prefix>hfos-streams)?"
        )
        self.topic = topic
        self.problem = problem


def changelog_topic(app_id: str) -> str:
    """Faust's name for the changelog of the breaker's ``accounts`` table."""
    return f"{app_id}-{ACCOUNTS_TABLE}-changelog"


@dataclass(frozen=True)
class AccountView:
    """One account as the breaker holds it, with its two rule values."""

    state: AccountState
    drawdown: float
    daily_loss: float


def read_accounts(
    client_config: Mapping[str, str], app_id: str, timeout: float = 30.0
) -> dict[str, AccountView]:
    """Every account's latest breaker state (the changelog read to its end)."""
    topic = changelog_topic(app_id)
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-breaker-view-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise BreakerStateUnavailableError(topic, metadata.error.str())
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
        return _read(consumer, topic, set(metadata.partitions), timeout)
    finally:
        consumer.close()


def _read(
    consumer: Consumer, topic: str, pending: set[int], timeout: float
) -> dict[str, AccountView]:
    latest: dict[str, AccountState | None] = {}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise BreakerStateUnavailableError(topic, f"not read to its end in {timeout:.0f} s")
        for message in consumer.consume(1000, 0.5):
            error = message.error()
            if error is None:
                # The table is keyed by the account id's bytes (streams/drawdown/binding.py).
                key = (message.key() or b"").decode(errors="replace")
                value = message.value()
                latest[key] = None if value is None else decode_state(value)
            elif error.code() == KafkaError._PARTITION_EOF:
                pending.discard(int(message.partition() or 0))
            elif error.fatal():
                raise KafkaException(error)
    return {
        account: AccountView(state, drawdown(state), daily_loss(state))
        for account, state in latest.items()
        if state is not None
    }
