"""What a supervisor watches, and its timings: one frozen, validated object.

Subsystems: ``kafka``, ``schema-registry``, ``redis``, ``price-feed`` and ``service:<name>``
for every service whose heartbeats are expected (configuration: ``expect``). Critical —
escalating to the emergency stop — are Kafka, the price feed and the stream worker
(``hfos-streams``: it runs the breaker and the ESS), as SPEC §7 names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from services.supervisor.episode import DEFAULT_STABLE_MS, Rules
from services.supervisor.exceptions import SupervisorConfigError
from streams.heartbeat import SERVICE as STREAM_WORKER

KAFKA = "kafka"
REGISTRY = "schema-registry"
REDIS = "redis"
PRICE_FEED = "price-feed"
SERVICE_PREFIX = "service:"
STACK_PARTS = {KAFKA: "kafka", REGISTRY: "registry", REDIS: "redis"}
"""Subsystem -> the local stack's name for the part that serves it."""

ATTEMPT_TIMEOUT_SECONDS = {
    # Kafka here restarts in 5-20 s (more topics, longer); 60 s before giving up on one.
    KAFKA: 60.0,
    # Apicurio starts in ~5 s warm, ~15 s cold on a busy machine (services/localstack).
    REGISTRY: 90.0,
    # Redis answers within 50 ms of starting; 15 s outlasts the stack's 10 s wait for its
    # port, so a taken port is what the history reports, not a bare timeout.
    REDIS: 15.0,
    PRICE_FEED: 30.0,
}
SERVICE_ATTEMPT_TIMEOUT_SECONDS = 120.0
"""A worker warm-starts in ~4 s; a cold one on a loaded machine also waits out a 10 s group
session and replays its tables (hfos up waits 120 s for the same)."""


def service_subsystem(service: str) -> str:
    return f"{SERVICE_PREFIX}{service}"


@dataclass(frozen=True)
class SupervisorConfig:
    expect: tuple[str, ...] = (STREAM_WORKER,)
    """Services whose heartbeats must keep coming."""
    critical: frozenset[str] = field(
        default_factory=lambda: frozenset({KAFKA, PRICE_FEED, service_subsystem(STREAM_WORKER)})
    )
    watch: frozenset[str] | None = None
    """Only these subsystems (None: all of them)."""
    restart_stack: bool = False
    """Restart dead parts of the local stack (else: observe only)."""
    stable_seconds: float = DEFAULT_STABLE_MS / 1000
    heartbeat_bound_seconds: float = 10.0
    """The stream worker beats every second; 10 missed beats is not a hiccup."""
    price_bound_seconds: float = 10.0
    escalate_after_seconds: float | None = 120.0
    """A critical subsystem failing this long escalates even with attempts left: longer
    than a worker's cold start, so a slow but successful restart needs no operator."""
    probe_interval_seconds: float = 0.5
    confirmations: int = 2
    """Consecutive failed checks before a failure counts (0.5-1 s apart)."""

    def __post_init__(self) -> None:
        self._positive("stable_seconds", self.stable_seconds)
        self._positive("heartbeat_bound_seconds", self.heartbeat_bound_seconds)
        self._positive("price_bound_seconds", self.price_bound_seconds)
        self._positive("probe_interval_seconds", self.probe_interval_seconds)
        if self.escalate_after_seconds is not None:
            self._positive("escalate_after_seconds", self.escalate_after_seconds)
        if not 1 <= self.confirmations <= 10:  # noqa: PLR2004 - the documented range
            raise SupervisorConfigError("confirmations", self.confirmations, "1 to 10")
        for service in self.expect:
            if not service or not service.isprintable() or " " in service:
                raise SupervisorConfigError("expect", service, "printable names without spaces")
        known = self.subsystems(every=True)
        unknown = (self.watch or frozenset()) - set(known)
        if unknown:
            raise SupervisorConfigError("watch", sorted(unknown), f"names among {known}")

    @staticmethod
    def _positive(name: str, value: float) -> None:
        if not (math.isfinite(value) and value > 0):
            raise SupervisorConfigError(name, value, "a finite number of seconds > 0")

    def subsystems(self, *, every: bool = False) -> tuple[str, ...]:
        """The subsystems supervised (``every``: also those ``watch`` leaves out)."""
        names = (KAFKA, REGISTRY, REDIS, PRICE_FEED, *map(service_subsystem, self.expect))
        if every or self.watch is None:
            return names
        return tuple(name for name in names if name in self.watch)

    def attempt_timeout_ms(self, subsystem: str) -> int:
        seconds = ATTEMPT_TIMEOUT_SECONDS.get(subsystem, SERVICE_ATTEMPT_TIMEOUT_SECONDS)
        return round(seconds * 1000)

    def rules(self, subsystem: str, *, schedules: bool) -> Rules:
        """How ``subsystem`` is supervised: ``schedules`` when the supervisor itself has a
        way to restart it (else it counts the platform's restarts)."""
        critical = subsystem in self.critical
        escalate = self.escalate_after_seconds
        return Rules(
            subsystem,
            critical=critical,
            schedules=schedules,
            attempt_timeout_ms=self.attempt_timeout_ms(subsystem),
            escalate_after_ms=round(escalate * 1000) if critical and escalate else None,
            stable_ms=round(self.stable_seconds * 1000),
        )
