"""The Faust application: one place that sets how every stream worker talks to Kafka."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust

from schemas.partitioner import faust_partitioner

SESSION_TIMEOUT_SECONDS = 10.0
MAX_POLL_RECORDS = 500
"""Records one fetch hands the worker at most. The breaker spends about a millisecond a
record, so a batch is ~0.5 s of work: a control command (taken first,
``streams/transport.py``) or a breaching update waits for one batch, never for a whole
backlog (Faust's default is unbounded)."""
PRODUCER_LINGER_SECONDS = 0.005
MAX_PARTITION_FETCH_BYTES = 256 * 1024
"""What one fetch takes of a partition (aiokafka's default is 1 MiB): ~1 000 account
updates, so partitions behind a backlog take turns within a few batches."""


class HfosApp(faust.App):
    """A Faust app that knows which of its input topics carry control commands."""

    urgent_topics: frozenset[str] = frozenset()
    """Topics whose records every fetch hands over first (``streams/transport.py``)."""
    instance_id: str | None = None
    """The consumer's ``group.instance.id`` (static membership), or None."""


@dataclass(frozen=True)
class AppConfig:
    """What a stream worker needs; built by ``services`` from the process settings."""

    app_id: str
    broker: str
    """``host:port[,host:port]`` (Kafka bootstrap servers)."""
    store: str = "memory://"
    """``rocksdb://`` (rocksdict) in production; ``memory://`` in tests (STACK.md)."""
    data_dir: str = "/tmp/hfos-worker"  # noqa: S108 - overridden by services for real runs
    commit_interval_seconds: float = 0.5
    credentials: Any = None
    replication_factor: int = 1
    """Of the topics Faust creates itself; the cluster's usual factor (3) in production."""
    """faust.SASLCredentials / SSLCredentials for a secured cluster; None for PLAINTEXT."""
    loghandlers: tuple[logging.Handler, ...] = ()
    """Handlers the worker adds to the root logger once it sets logging up."""
    urgent_topics: frozenset[str] = frozenset()
    """Control topics served before the others in every batch (:class:`HfosApp`)."""
    instance_id: str | None = None
    """Static membership (KIP-345): see ``HFOS_WORKER_INSTANCE``."""


def create_app(config: AppConfig) -> HfosApp:
    """A Faust app with the settings every hfos agent relies on."""
    # hfos:// is Faust's aiokafka transport with a short fetch wait (streams/transport.py).
    brokers = ";".join(f"hfos://{server.strip()}" for server in config.broker.split(","))
    app = HfosApp(
        config.app_id,
        broker=brokers,
        store=config.store,
        datadir=config.data_dir,
        # Idempotent, fully acknowledged sends, as for every other hfos producer (SPEC §0).
        producer_acks=-1,
        # Frequent commits keep redelivery after a crash short; effects are idempotent, so
        # redelivery is harmless, only wasted work.
        broker_commit_interval=config.commit_interval_seconds,
        topic_replication_factor=config.replication_factor,
        # A worker that died without leaving the group (SIGKILL, OOM, lost host) holds its
        # partitions until its session expires: Faust's default of 60 s stops every
        # breaker and ESS partition it owned for a minute, and a restarted worker waits
        # that long to join. 10 s, heartbeats every 3 s (as for every other hfos consumer).
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=3.0,
        web_enabled=False,
        broker_credentials=config.credentials,
        loghandlers=list(config.loghandlers),
        # One concurrent event per agent: faust #606 can commit past an unfinished event
        # with concurrency > 1 (STACK.md).
        agent_supervisor="mode.OneForOneSupervisor",
        # Java's murmur2, like every other hfos producer (schemas/partitioner.py).
        producer_partitioner=faust_partitioner,
        broker_max_poll_records=MAX_POLL_RECORDS,
        # 5 ms of batching, as every other hfos producer: a batch's changelog writes and
        # effects leave in a few requests, not one request each (Faust's default is 0).
        producer_linger=PRODUCER_LINGER_SECONDS,
        consumer_max_fetch_size=MAX_PARTITION_FETCH_BYTES,
    )
    app.urgent_topics = config.urgent_topics
    app.instance_id = (
        None if config.instance_id is None else f"{config.app_id}-{config.instance_id}"
    )
    return app
