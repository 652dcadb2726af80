"""The Faust application: one place that sets how every stream worker talks to Kafka."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust

from schemas.partitioner import faust_partitioner

SESSION_TIMEOUT_SECONDS = 10.0


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


def create_app(config: AppConfig) -> faust.App:
    """A Faust app with the settings every hfos agent relies on."""
    # hfos:// is Faust's aiokafka transport with a short fetch wait (streams/transport.py).
    brokers = ";".join(f"hfos://{server.strip()}" for server in config.broker.split(","))
    return faust.App(
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
    )
