"""The stream worker's probe: a stalled partition fails /healthz; readiness needs recovered
tables, the policy read, and an acknowledged HEALTHY heartbeat (fakes of the Faust app)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from services.health.probe import Probe
from services.health.worker import WorkerHealth


class App:
    def __init__(self) -> None:
        self.rebalancing = False
        self.in_recovery = False

    def timer(self, _seconds: float, **_options: str) -> Callable[[Any], Any]:
        return lambda fn: fn


class View:
    def __init__(self, *, caught_up: bool, active: object) -> None:
        self.caught_up = threading.Event()
        if caught_up:
            self.caught_up.set()
        self._active = active

    def state(self) -> Any:
        active = self._active
        return type("State", (), {"active": lambda _self: active})()


class Stub:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def health(
    *, stalled: int = 0, acked: float | None = 99.0, caught_up: bool = True, active: bool = True
) -> tuple[WorkerHealth, Probe, App]:
    app = App()
    probe = Probe("hfos-streams", clock=lambda: 100.0)
    checker = WorkerHealth(
        app,  # type: ignore[arg-type]
        probe,
        Stub(stalled=stalled),  # type: ignore[arg-type]
        Stub(healthy_acknowledged_at=acked),  # type: ignore[arg-type]
        View(caught_up=caught_up, active=object() if active else None),  # type: ignore[arg-type]
        clock=lambda: 100.0,
    )
    return checker, probe, app


def test_worker_when_watchdog_finds_stalled_partition_then_healthz_fails() -> None:
    checker, probe, _ = health(stalled=2)
    checker.report()
    assert not probe.liveness().ok
    assert "2 input partition(s) stalled" in probe.liveness().detail


def test_worker_when_caught_up_and_heartbeat_acknowledged_then_ready() -> None:
    checker, probe, _ = health()
    checker.report()
    assert probe.readiness().ok


def test_worker_when_recovering_tables_then_not_ready() -> None:
    checker, probe, app = health()
    app.in_recovery = True
    checker.report()
    assert "recovering tables" in probe.readiness().detail


def test_worker_when_no_heartbeat_acknowledged_lately_then_not_ready() -> None:
    checker, probe, _ = health(acked=94.0)
    checker.report()
    assert not probe.readiness().ok
    assert "heartbeat" in probe.readiness().detail


def test_worker_when_policy_topics_not_read_then_not_ready() -> None:
    checker, probe, _ = health(caught_up=False)
    checker.report()
    assert "policy topics not read" in probe.readiness().detail


def test_worker_when_no_valid_policy_then_not_ready() -> None:
    checker, probe, _ = health(active=False)
    checker.report()
    assert probe.readiness().detail == "no valid active policy"
