"""What /healthz and /readyz answer, from what a service's loop reported (fake clock)."""

from __future__ import annotations

from services.health.probe import Probe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def probe(clock: Clock) -> Probe:
    return Probe("test-svc", stall_after_seconds=30, verdict_ttl_seconds=15, clock=clock)


def test_liveness_when_loop_ticks_then_alive() -> None:
    clock = Clock()
    p = probe(clock)
    clock.now += 29
    p.tick()
    clock.now += 29
    assert p.liveness().ok


def test_liveness_when_loop_stops_ticking_past_bound_then_not_alive_and_says_how_long() -> None:
    clock = Clock()
    p = probe(clock)
    clock.now += 31
    verdict = p.liveness()
    assert not verdict.ok
    assert "31 s" in verdict.detail


def test_liveness_when_impaired_then_not_alive_until_cleared() -> None:
    clock = Clock()
    p = probe(clock)
    p.impair("2 input partition(s) stalled (watchdog)")
    assert p.liveness().detail == "2 input partition(s) stalled (watchdog)"
    assert not p.liveness().ok
    p.impair(None)
    assert p.liveness().ok


def test_readiness_when_started_then_not_ready_until_loop_says_so() -> None:
    clock = Clock()
    p = probe(clock)
    assert not p.readiness().ok
    p.set_ready(ok=True, detail="caught up and connected")
    assert p.readiness().ok


def test_readiness_when_verdict_older_than_ttl_then_not_ready() -> None:
    clock = Clock()
    p = probe(clock)
    p.set_ready(ok=True, detail="caught up")
    clock.now += 16
    p.tick()
    verdict = p.readiness()
    assert not verdict.ok
    assert "no readiness report" in verdict.detail


def test_readiness_when_not_alive_then_not_ready_whatever_the_last_verdict() -> None:
    clock = Clock()
    p = probe(clock)
    p.set_ready(ok=True, detail="caught up")
    p.impair("stalled")
    assert p.readiness().ok is False
    assert p.readiness().detail == "stalled"
