"""A running supervisor, wired to the real servers: ``hfos supervise`` and ``hfos up``.

Start-up order matters: the journal registers its transactional id first (fencing a
predecessor and aborting its open batch), then the supervisor's own state is read back
from ``system.recovery.state`` — so every open episode resumes with its count — and only
then does it probe and act. It needs Kafka to start: without its state it would start
every count from zero, which is the silent reset SPEC §7 forbids; the executor's
dead-man's switch covers a control plane that is down meanwhile.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import redis

from schemas.catalogue import RECOVERY_STATE, TopicNames
from schemas.contracts import contract
from schemas.enums import RecoveryAction
from schemas.serde import AvroSerde
from services.localstack.stack import LocalStack
from services.policy.store import PolicyStore
from services.policy.view import PolicyView
from services.settings import Settings
from services.supervisor.actions import Restarter, StackRestart
from services.supervisor.config import (
    KAFKA,
    PRICE_FEED,
    REDIS,
    REGISTRY,
    SERVICE_PREFIX,
    STACK_PARTS,
    SupervisorConfig,
)
from services.supervisor.journal import KafkaJournal
from services.supervisor.loop import Supervisor, Unit
from services.supervisor.probes import (
    HeartbeatProbe,
    KafkaProbe,
    PriceFeedProbe,
    Probe,
    ProbeRunner,
    RedisProbe,
    RegistryProbe,
    ThroughKafka,
)
from services.supervisor.rebuild import read_states
from services.supervisor.signals import ServiceSignals
from services.supervisor.target import PolicyEscalationState

log = logging.getLogger(__name__)

REBUILD_TIMEOUT_SECONDS = 60.0
_PROBE_TIMEOUT_SECONDS = {KAFKA: 3.0, REGISTRY: 3.0, REDIS: 1.0}


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Servers:
    """What the supervisor connects to (built from the process settings)."""

    kafka: Mapping[str, str]
    registry_url: str
    registry_auth: str | None
    redis_url: str
    serde: AvroSerde
    names: TopicNames

    @classmethod
    def of(cls, settings: Settings, serde: AvroSerde) -> Servers:
        registry = settings.registry_client_config()
        return cls(
            kafka=settings.kafka_client_config(),
            registry_url=settings.schema_registry_url,
            registry_auth=registry.get("basic.auth.user.info"),
            redis_url=settings.redis_url.get_secret_value(),
            serde=serde,
            names=TopicNames(settings.hfos_topic_prefix),
        )


Adapt = Callable[[list[Unit], "RunningSupervisor"], list[Unit]]
"""Lets ``hfos up`` swap in its own recovery for the parts it runs as child processes."""


class RunningSupervisor:
    """The supervisor and everything it holds open (threads, consumers, the journal)."""

    def __init__(
        self,
        servers: Servers,
        config: SupervisorConfig,
        *,
        stack: LocalStack | None = None,
        adapt: Adapt | None = None,
        say: Callable[[str], None] = log.info,
        clock: Callable[[], int] = wall_ms,
        source: random.Random | None = None,
    ) -> None:
        self.config, self._clock = config, clock
        self.journal = KafkaJournal(servers.kafka, servers.serde, servers.names)
        self.journal.init()
        states = read_states(servers.kafka, servers.serde, servers.names, REBUILD_TIMEOUT_SECONDS)
        self._runners: list[ProbeRunner] = []
        self._kafka = self._runner(
            KAFKA,
            KafkaProbe(
                servers.kafka, contract(RECOVERY_STATE, servers.names).topic, _timeout(KAFKA)
            ),
        )
        lookback = round(config.heartbeat_bound_seconds * 1000)
        self.signals = ServiceSignals(servers.kafka, servers.serde, servers.names, clock, lookback)
        self._view = PolicyView(servers.kafka, servers.names, servers.serde)
        store = PolicyStore(
            redis.Redis.from_url(servers.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5),
            self._view,
            servers.names.prefix,
            reader="hfos-supervisor",
        )
        units = self._units(servers, stack)
        self.supervisor = Supervisor(
            units if adapt is None else adapt(units, self),
            self.journal,
            states,
            clock=clock,
            random=source or random.Random(),  # noqa: S311 - jitter, not cryptography
            escalation_state=PolicyEscalationState(store),
            say=say,
        )
        for state in states.values():
            if state.open:
                say(
                    f"{state.subsystem}: resuming episode {state.episode} at {state.phase.value}, "
                    f"{state.attempt} attempt(s) made"
                )

    def run(self, stop: threading.Event) -> None:
        self.supervisor.run(stop)

    def close(self) -> None:
        self.supervisor.close()
        for runner in self._runners:
            runner.close()
        self.signals.close()
        self._view.close()
        self.journal.close()

    def heartbeats(self, service: str, instance: Callable[[], str] | None = None) -> Probe:
        """The heartbeat probe of ``service`` (of one ``instance`` of it), judged only
        while Kafka answers."""
        bound = round(self.config.heartbeat_bound_seconds * 1000)
        beats = HeartbeatProbe(self.signals, service, bound, self._clock, instance)
        return ThroughKafka(beats, self._kafka.check, bound, self._clock)

    # -- building the units --------------------------------------------------------------

    def _runner(self, name: str, probe: Probe) -> ProbeRunner:
        runner = ProbeRunner(
            name, probe, self.config.probe_interval_seconds, self.config.confirmations
        )
        self._runners.append(runner)
        return runner

    def _units(self, servers: Servers, stack: LocalStack | None) -> list[Unit]:
        config = self.config
        registry = RegistryProbe(servers.registry_url, _timeout(REGISTRY), servers.registry_auth)
        probes: dict[str, Probe] = {
            KAFKA: self._kafka,
            REGISTRY: registry,
            REDIS: RedisProbe(servers.redis_url, _timeout(REDIS)),
        }
        grace = round(config.heartbeat_bound_seconds * 1000)
        price = PriceFeedProbe(self.signals, round(config.price_bound_seconds * 1000), self._clock)
        probes[PRICE_FEED] = ThroughKafka(price, self._kafka.check, grace, self._clock)
        for service in config.expect:
            probes[f"{SERVICE_PREFIX}{service}"] = self.heartbeats(service)
        units = []
        for name in config.subsystems():
            probe = probes[name] if name == KAFKA else self._runner(name, probes[name])
            action = self._stack_action(name, stack)
            rules = config.rules(name, schedules=action is not None)
            units.append(Unit(rules, probe, action, _kind(action)))
        return units

    def _stack_action(self, name: str, stack: LocalStack | None) -> Restarter | None:
        part = STACK_PARTS.get(name)
        if part is None or stack is None or not self.config.restart_stack:
            return None
        return StackRestart(stack, part)


def _timeout(name: str) -> float:
    return _PROBE_TIMEOUT_SECONDS[name]


def _kind(action: Restarter | None) -> RecoveryAction:
    return RecoveryAction.PLATFORM if action is None else action.kind


def supervised(units: Sequence[Unit]) -> str:
    """The subsystems and how each is recovered, for a start-up line."""
    return ", ".join(f"{u.name} ({u.recovery.value if u.recovery else '-'})" for u in units)
