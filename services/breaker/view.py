"""What the breaker holds per account, read from its table's changelog.

The changelog is the table's durable form — Faust restores the table from it on every
start — and compacted, so reading it to its end gives each account's latest state:
equity, peak, day start, open positions, episode and latch, exactly as the breaker judges
them. Read-only; a process that is not the stream worker never writes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas.errors import HfosError
from schemas.keys import ACCOUNTS_TABLE
from services.bus.ends import log_ends, read_to_ends
from services.bus.exceptions import EndNotReachedError, MissingTopicError, ReadFailedError
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
    """Every account's latest breaker state: the changelog read to the log end it had
    when the read began -- not to the first end-of-partition event, which librdkafka
    reports only from a fetch that comes back empty, so never while the worker writes
    the changelog more often than the fetch wait (500 ms)."""
    topic = changelog_topic(app_id)
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-breaker-view-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise BreakerStateUnavailableError(topic, metadata.error.str())
        starts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(metadata.partitions)]
        latest: dict[str, AccountState | None] = {}
        for message in read_to_ends(consumer, starts, log_ends(client_config, starts), timeout):
            # The table is keyed by the account id's bytes (streams/drawdown/binding.py).
            key = (message.key() or b"").decode(errors="replace")
            value = message.value()
            latest[key] = None if value is None else decode_state(value)
    except (EndNotReachedError, MissingTopicError, ReadFailedError) as problem:
        raise BreakerStateUnavailableError(topic, str(problem)) from problem
    finally:
        consumer.close()
    return {
        account: AccountView(state, drawdown(state), daily_loss(state))
        for account, state in latest.items()
        if state is not None
    }
