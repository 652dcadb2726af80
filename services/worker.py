"""The stream worker: the Faust app with every hfos agent, built from the settings."""

from __future__ import annotations

import logging

import faust
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import (
    CHANGELOG_COMPACTION,
    CIRCUIT_BREAKER_RESET,
    ESS_COMMAND,
    POLICY_ACTIVATED,
    POLICY_COMMAND,
    POLICY_UPDATED,
    TopicNames,
    TopicSpec,
)
from schemas.keys import streams_app_id
from schemas.serde import AvroSerde
from services.bus.producer import LIBRDKAFKA_LOG
from services.bus.topics import apply_configs, provision
from services.faust_auth import faust_credentials
from services.health.probe import Probe
from services.health.worker import WorkerHealth
from services.policy.view import PolicyView
from services.settings import Environment, Settings
from streams.app import AppConfig, create_app
from streams.drawdown.binding import BreakerBinding
from streams.ess.binding import DEFAULT_COOLDOWN_SECONDS, EssBinding
from streams.ess.execution_binding import ExecutionErrorBinding
from streams.heartbeat import Heartbeat
from streams.models.binding import CoordinatorBinding
from streams.policy.binding import PolicyBinding
from streams.policy.cache import PolicyCache
from streams.strategy.binding import SwitchOwnerBinding
from streams.watchdog import Watchdog

URGENT = (ESS_COMMAND, POLICY_COMMAND, POLICY_UPDATED, POLICY_ACTIVATED, CIRCUIT_BREAKER_RESET)
"""The worker's control inputs: every batch takes their records first (streams/transport.py),
so an operator's command never waits behind a backlog of account updates."""


def build_app(
    settings: Settings,
    app_id: str | None = None,
    store: str = "memory://",
    probe: Probe | None = None,
    loghandlers: tuple[logging.Handler, ...] = (),
) -> faust.App:
    """The Faust app of one hfos deployment (its topic prefix picks the topics); with a
    ``probe``, its liveness and readiness are reported into it."""
    prefix = settings.hfos_topic_prefix
    names = TopicNames(prefix)
    app = create_app(
        AppConfig(
            app_id=app_id or streams_app_id(prefix),
            broker=settings.kafka_bootstrap_servers,
            store=store,
            credentials=faust_credentials(settings),
            data_dir=settings.hfos_worker_data_dir or f"/tmp/hfos-worker-{prefix or 'default'}",  # noqa: S108
            replication_factor=settings.hfos_replication_factor,
            loghandlers=loghandlers,
            urgent_topics=frozenset(names.name(spec) for spec in URGENT),
            instance_id=settings.hfos_worker_instance,
        )
    )
    serde = AvroSerde(SchemaRegistryClient(settings.registry_client_config()))
    cache = PolicyCache(settings.redis_url.get_secret_value(), prefix)
    PolicyBinding(app, names, serde, cache)
    # Every worker follows the policy topics itself (one partition, a few records), so
    # each breaker partition judges with the policy active now, whoever owns the table.
    view = PolicyView(settings.kafka_client_config(), names, serde)
    watchdog = Watchdog(app, exit_after_seconds=settings.hfos_worker_stall_exit_seconds)
    BreakerBinding(app, names, serde, lambda: view.state().active(), watchdog.caught_up_at)
    ExecutionErrorBinding(app, names, serde)
    SwitchOwnerBinding(app, names, serde)
    heartbeat = Heartbeat(app, names, serde, healthy=lambda: watchdog.stalled == 0)
    if probe is not None:
        WorkerHealth(app, probe, watchdog, heartbeat, view)
    EssBinding(
        app,
        names,
        serde,
        cooldown_seconds=lambda: _cooldown(view),
        production=settings.hfos_env is Environment.PRODUCTION,
    )
    CoordinatorBinding(
        app, names, serde, ack_timeout_ms=int(settings.hfos_model_ack_timeout_seconds * 1000)
    )
    return app


def _cooldown(view: PolicyView) -> int:
    """The active policy's cooldown; without a policy, the SPEC §4 default (15 min) — the
    ESS never loosens because a policy is missing."""
    active = view.state().active()
    return DEFAULT_COOLDOWN_SECONDS if active is None else active.values.ess_cooldown_seconds


def provision_changelogs(settings: Settings, app: faust.App) -> None:
    """Create the tables' changelog topics before Faust starts. Left to Faust, a topic it
    has just created can still show 0 partitions when it verifies the table's
    co-partitioning, and the agent crashes with PartitionsMismatch."""
    specs = [
        TopicSpec(
            name=table.changelog_topic_name,
            key="table key",
            value_schema=None,
            partitions=table.partitions or 1,
            cleanup="compact",
            retention_ms=None,
            description=f"changelog of the {table.name} table",
            overrides=CHANGELOG_COMPACTION,
        )
        for table in app.tables.values()
    ]
    admin = AdminClient(dict(settings.kafka_client_config()), logger=LIBRDKAFKA_LOG)
    provision(admin, specs, settings.hfos_replication_factor)
    # A changelog made before these configs existed compacts once a day: bring it up to
    # date (segment and compaction settings never delete a key's latest value).
    apply_configs(admin, specs)
