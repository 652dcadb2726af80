"""The probes' judgement, on a fake clock and fake signals: a heartbeat missing past its
bound or DEGRADED fails its service, a new process shows as a new incarnation, a stale
price fails the feed, nothing read through Kafka is judged while Kafka is down, and one
failed check is not yet a failure."""

from __future__ import annotations

import time

import pytest

from services.supervisor.probes import (
    HEALTHY,
    HeartbeatProbe,
    PriceFeedProbe,
    ProbeRunner,
    ThroughKafka,
    failing,
)
from services.supervisor.signals import Beat
from services.supervisor.testing import SetProbe
from streams.testing import START, FakeClock

SERVICE = "hfos-streams"


class Signals:
    """What ServiceSignals hands the probes, set by the test."""

    def __init__(self, started_at: int = START) -> None:
        self.started_at = started_at
        self.held: list[Beat] = []
        self.price_at: int | None = None

    def beat(self, instance: str, status: str, at: int, started_at: int = START) -> None:
        self.held = [b for b in self.held if b.instance != instance]
        self.held.append(Beat(SERVICE, instance, status, at, started_at))

    def beats(self, service: str) -> list[Beat]:
        return [beat for beat in self.held if beat.service == service]

    def last_price_at(self) -> int | None:
        return self.price_at


def heartbeats(signals: Signals, clock: FakeClock) -> HeartbeatProbe:
    return HeartbeatProbe(signals, SERVICE, 10_000, clock.now)  # type: ignore[arg-type]


def test_heartbeat_when_healthy_beat_within_bound_then_healthy_with_its_incarnation() -> None:
    clock, signals = FakeClock(), Signals()
    signals.beat("host-1", "HEALTHY", START)
    clock.advance(9.9)
    health = heartbeats(signals, clock).check()
    assert (health.ok, health.incarnation, health.as_of) == (True, f"host-1@{START}", START)


def test_heartbeat_when_missing_past_bound_then_failing_with_its_age() -> None:
    clock, signals = FakeClock(), Signals()
    signals.beat("host-1", "HEALTHY", START)
    clock.advance(12.5)
    health = heartbeats(signals, clock).check()
    assert health.ok is False
    assert health.detail == "no heartbeat from hfos-streams for 12.5 s (bound 10 s)"


def test_heartbeat_when_none_yet_then_unknown_until_one_bound_has_passed() -> None:
    clock, signals = FakeClock(), Signals()
    assert heartbeats(signals, clock).check().ok is None
    clock.advance(10)
    assert heartbeats(signals, clock).check().ok is False


def test_heartbeat_when_an_instance_beats_degraded_then_failing_naming_it() -> None:
    clock, signals = FakeClock(), Signals()
    signals.beat("host-1", "HEALTHY", START)
    signals.beat("host-2", "DEGRADED", START)
    health = heartbeats(signals, clock).check()
    assert (health.ok, health.detail) == (False, "hfos-streams host-2 DEGRADED")


def test_heartbeat_when_degraded_instance_stopped_beating_then_others_decide() -> None:
    """An instance that went DEGRADED and exited (stall exit 75) is gone, not degraded."""
    clock, signals = FakeClock(), Signals()
    signals.beat("host-2", "DEGRADED", START)
    clock.advance(4)
    signals.beat("host-3", "HEALTHY", clock.now(), started_at=clock.now())
    assert heartbeats(signals, clock).check().ok is True


def test_heartbeat_when_process_restarted_then_new_incarnation() -> None:
    clock, signals = FakeClock(), Signals()
    signals.beat("pod-0", "HEALTHY", START)
    first = heartbeats(signals, clock).check().incarnation
    clock.advance(5)
    signals.beat("pod-0", "HEALTHY", clock.now(), started_at=clock.now())
    assert heartbeats(signals, clock).check().incarnation != first


def test_price_feed_when_newest_price_older_than_bound_then_failing() -> None:
    clock, signals = FakeClock(), Signals()
    probe = PriceFeedProbe(signals, 10_000, clock.now)  # type: ignore[arg-type]
    signals.price_at = START
    clock.advance(10)
    assert (probe.check().ok, probe.check().as_of) == (True, START)
    clock.advance(0.5)
    assert probe.check().detail == "newest market.price is 10.5 s old (bound 10 s)"


def test_through_kafka_when_kafka_down_then_unknown_and_for_a_grace_after() -> None:
    clock, kafka, inner = FakeClock(), SetProbe(), SetProbe()
    inner.fail("no heartbeat")
    probe = ThroughKafka(inner, kafka.check, 10_000, clock.now)
    assert probe.check().ok is False
    kafka.fail("metadata request failed")
    assert probe.check().ok is None
    kafka.heal()
    assert probe.check().ok is None  # back: signals must come through first
    clock.advance(9.9)
    assert probe.check().ok is None
    clock.advance(0.2)
    assert probe.check().ok is False


@pytest.mark.timeout(10)
def test_runner_when_one_check_fails_then_still_healthy_until_the_second() -> None:
    inner = SetProbe()
    runner = ProbeRunner("redis", inner, 0.01, confirmations=2)
    try:
        assert _eventually(lambda: runner.check().ok is True)
        inner.health = failing("PING failed")
        assert _eventually(lambda: runner.check().ok is False)
    finally:
        runner.close()


def test_runner_when_confirmations_needed_then_a_lone_failure_is_not_reported() -> None:
    runner = ProbeRunner("redis", SetProbe(), 3600, confirmations=2)
    try:
        _eventually(lambda: runner.check().ok is True)
        runner._record(failing("one lost PING"))
        assert runner.check().ok is True
        runner._record(HEALTHY)
        runner._record(failing("again"))
        assert runner.check().ok is True  # the count restarted after the healthy check
        runner._record(failing("and again"))
        assert runner.check() == failing("and again")
    finally:
        runner.close()


def _eventually(predicate: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False
