"""How the supervisor tells whether a subsystem is healthy: a real call to each server,
the age of the services' heartbeats and of the last price.

A probe answers healthy, failing (with what it saw) or unknown — unknown when it cannot
tell: what it reads is down (heartbeats and prices come through Kafka), or it has not
watched long enough yet. Unknown opens no episode and judges no attempt.
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from redis.exceptions import RedisError

from schemas.enums import ServiceStatus
from services.bus.producer import LIBRDKAFKA_LOG
from services.supervisor.signals import ServiceSignals

Clock = Callable[[], int]

DEGRADED_FRESH_MS = 3_000
"""A DEGRADED beat counts as long as its instance keeps beating (every second for the
stream worker): an instance that went DEGRADED and exited is gone, not degraded, and its
absence is judged by the heartbeat bound."""


@dataclass(frozen=True)
class Health:
    ok: bool | None
    """True healthy, False failing, None cannot tell now."""
    detail: str | None = None
    incarnation: str | None = None
    """Which process answered (heartbeats only): a new one means the platform restarted it."""
    as_of: int | None = None
    """When the evidence was made (epoch ms: a heartbeat's, a price's time); None: now."""


HEALTHY = Health(ok=True)


def failing(detail: str, incarnation: str | None = None) -> Health:
    return Health(ok=False, detail=detail, incarnation=incarnation)


def unknown(detail: str) -> Health:
    return Health(ok=None, detail=detail)


class Probe(Protocol):
    def check(self) -> Health: ...


class KafkaProbe:
    """A metadata request for one topic: the broker answers, or it is failing."""

    def __init__(self, client_config: Mapping[str, str], topic: str, timeout: float) -> None:
        config: dict[str, str | int | float | bool] = {
            **client_config,
            "socket.timeout.ms": int(timeout * 1000),
        }
        self._admin = AdminClient(config, logger=LIBRDKAFKA_LOG)
        self._topic = topic
        self._timeout = timeout

    def check(self) -> Health:
        try:
            found = self._admin.list_topics(self._topic, timeout=self._timeout)
        except KafkaException as error:
            return failing(f"metadata request failed: {error.args[0].str()}")
        if not found.brokers:
            return failing("the cluster reports no broker")
        return HEALTHY


class RegistryProbe:
    """``GET /subjects`` on the Confluent-compatible API."""

    def __init__(self, url: str, timeout: float, basic_auth: str | None = None) -> None:
        self._request = urllib.request.Request(f"{url.rstrip('/')}/subjects")  # noqa: S310 - configured URL
        if basic_auth:
            token = base64.b64encode(basic_auth.encode()).decode()
            self._request.add_header("Authorization", f"Basic {token}")
        self._timeout = timeout

    def check(self) -> Health:
        try:
            with urllib.request.urlopen(self._request, timeout=self._timeout) as answer:  # noqa: S310
                answer.read()
        except (OSError, urllib.error.URLError, ValueError) as error:
            return failing(f"GET /subjects failed: {error}")
        return HEALTHY


class RedisProbe:
    """``PING``. The URL's password never appears in what it reports."""

    def __init__(self, url: str, timeout: float) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def check(self) -> Health:
        try:
            self._client.ping()
        except (RedisError, OSError) as error:
            return failing(f"PING failed: {type(error).__name__}: {error}")
        return HEALTHY


class HeartbeatProbe:
    """A service is healthy while at least one instance beat HEALTHY within ``bound_ms``
    and none that is still beating says DEGRADED. With ``instance``, only that instance's
    beats count (a child process judged by its own beats, not a replica's)."""

    def __init__(
        self,
        signals: ServiceSignals,
        service: str,
        bound_ms: int,
        clock: Clock,
        instance: Callable[[], str] | None = None,
    ) -> None:
        self._signals, self._service, self._bound, self._clock = signals, service, bound_ms, clock
        self._instance = instance

    def check(self) -> Health:
        now = self._clock()
        beats = self._signals.beats(self._service)
        if self._instance is not None:
            own = self._instance()
            beats = [beat for beat in beats if beat.instance == own]
        newest = max(beats, key=lambda b: (b.started_at, b.at), default=None)
        incarnation = None if newest is None else newest.incarnation
        fresh = [beat for beat in beats if now - beat.at <= self._bound]
        if not fresh:
            return self._silent(now, newest.at if newest else None, incarnation)
        degraded = [
            beat.instance
            for beat in fresh
            if beat.status == ServiceStatus.DEGRADED and now - beat.at <= DEGRADED_FRESH_MS
        ]
        if degraded:
            return failing(f"{self._service} {', '.join(sorted(degraded))} DEGRADED", incarnation)
        healthy = [beat.at for beat in fresh if beat.status == ServiceStatus.HEALTHY]
        if healthy:
            return Health(ok=True, incarnation=incarnation, as_of=max(healthy))
        states = ", ".join(sorted(f"{beat.instance} {beat.status}" for beat in fresh))
        return failing(f"{self._service}: {states}", incarnation)

    def _silent(self, now: int, last: int | None, incarnation: str | None) -> Health:
        bound = f"bound {self._bound / 1000:g} s"
        if last is None:
            if now - self._signals.started_at < self._bound:
                return unknown(f"no heartbeat from {self._service} yet")
            return failing(f"no heartbeat from {self._service} ({bound})")
        return failing(
            f"no heartbeat from {self._service} for {(now - last) / 1000:.1f} s ({bound})",
            incarnation,
        )


class PriceFeedProbe:
    """The price feed is healthy while the newest ``market.price`` is within ``bound_ms``."""

    def __init__(self, signals: ServiceSignals, bound_ms: int, clock: Clock) -> None:
        self._signals, self._bound, self._clock = signals, bound_ms, clock

    def check(self) -> Health:
        now = self._clock()
        last = self._signals.last_price_at()
        bound = f"bound {self._bound / 1000:g} s"
        if last is None:
            if now - self._signals.started_at < self._bound:
                return unknown("no market.price yet")
            return failing(f"no market.price ({bound})")
        if now - last > self._bound:
            return failing(f"newest market.price is {(now - last) / 1000:.1f} s old ({bound})")
        return Health(ok=True, as_of=last)


class ThroughKafka:
    """A probe whose signals come through Kafka: unknown while Kafka is failing, and for
    ``grace_ms`` after it is back (the services' first beats must arrive first)."""

    def __init__(
        self, probe: Probe, kafka: Callable[[], Health], grace_ms: int, clock: Clock
    ) -> None:
        self._probe, self._kafka, self._grace, self._clock = probe, kafka, grace_ms, clock
        self._back_at: int | None = None
        self._down = False

    def check(self) -> Health:
        kafka, now = self._kafka(), self._clock()
        if kafka.ok is not True:
            self._down = True
            return unknown("Kafka is not answering: heartbeats and prices cannot be read")
        if self._down:
            self._down, self._back_at = False, now
        if self._back_at is not None and now - self._back_at < self._grace:
            return unknown("Kafka is back: waiting for fresh heartbeats and prices")
        return self._probe.check()


class ProbeRunner:
    """Runs a probe every ``interval`` seconds in a thread of its own, so a slow answer
    (a 3 s timeout) never holds up the other subsystems. A failure is reported once
    ``confirmations`` checks in a row failed: one lost PING on a loaded machine is not an
    outage. Until then the last confirmed health stands."""

    def __init__(self, name: str, probe: Probe, interval: float, confirmations: int) -> None:
        self._probe, self._interval, self._confirmations = probe, interval, confirmations
        self._lock = threading.Lock()
        self._health = unknown("not checked yet")
        self._failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"probe-{name}", daemon=True)
        self._thread.start()

    def check(self) -> Health:
        with self._lock:
            return self._health

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._record(self._probe.check())
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def _record(self, health: Health) -> None:
        with self._lock:
            if health.ok is False:
                self._failures += 1
                if self._failures < self._confirmations and self._health.ok is True:
                    return
            else:
                self._failures = 0
            self._health = health
