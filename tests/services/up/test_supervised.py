"""hfos up's parts under the supervisor, with real child processes and no broker: a part
that exits is started again with the backoff, a live one is never killed, a part that
fails on every start exhausts its attempts (and, critical, escalates once)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from schemas.enums import EssState
from services.supervisor.config import SupervisorConfig
from services.supervisor.exceptions import RecoveryActionError
from services.supervisor.loop import Supervisor, Unit
from services.supervisor.probes import HEALTHY
from services.supervisor.testing import InlineExecutor, MemoryJournal, SetProbe
from services.up.children import Child
from services.up.plan import Part, Started
from services.up.supervised import ChildProbe, ChildRestart, ChildSlot, as_children
from streams.testing import FakeClock, ScriptedRandom

pytestmark = pytest.mark.timeout(60)


def child(tmp_path: Path, name: str, code: str) -> Child:
    log = tmp_path / f"{name}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=sink, stderr=sink)
    return Child(Part(name, (), Started()), process, log, time.monotonic())


def finished(made: Child) -> Child:
    made.process.wait(30)
    return made


def test_probe_when_part_exited_then_failing_with_exit_status_and_log_tail(tmp_path: Path) -> None:
    crashed = finished(child(tmp_path, "executor", "print('bad config'); raise SystemExit(3)"))
    health = ChildProbe(ChildSlot(crashed, lambda: crashed), SetProbe()).check()
    assert health.ok is False
    assert health.detail is not None
    assert f"executor (pid {crashed.pid}) exited with exit 3: bad config" in health.detail


def test_probe_when_part_runs_then_its_inner_probe_decides(tmp_path: Path) -> None:
    running = child(tmp_path, "worker", "import time; time.sleep(30)")
    try:
        inner = SetProbe()
        inner.fail("no heartbeat from hfos-streams for 11.0 s")
        assert ChildProbe(ChildSlot(running, lambda: running), inner).check() == inner.health
        assert ChildProbe(ChildSlot(running, lambda: running), None).check() == HEALTHY
    finally:
        running.process.kill()
        running.process.wait(10)


def test_restart_when_part_alive_then_blocked_and_when_exited_then_respawned(
    tmp_path: Path,
) -> None:
    running = child(tmp_path, "exchange", "import time; time.sleep(30)")
    spawned: list[Child] = []
    slot = ChildSlot(running, lambda: child(tmp_path, "exchange", "raise SystemExit(1)"))
    action = ChildRestart(slot, spawned.append)
    assert action.blocked() == f"exchange (pid {running.pid}) is still running; it is not killed"
    running.process.kill()
    running.process.wait(10)
    assert action.blocked() is None
    action.restart()
    [again] = spawned
    assert slot.current() is again
    finished(again)
    assert action.failed() is not None
    assert "exited with exit 1" in str(action.failed())


def test_slot_when_owner_spawns_then_the_owner_thread_starts_the_new_process(
    tmp_path: Path,
) -> None:
    """A part is SIGTERMed when the thread that started it ends (PR_SET_PDEATHSIG): the
    supervisor's thread only asks, the session's own thread spawns."""
    gone = finished(child(tmp_path, "simulator", "raise SystemExit(0)"))
    spawned_by: list[str] = []

    def respawn() -> Child:
        spawned_by.append(threading.current_thread().name)
        return child(tmp_path, "simulator", "raise SystemExit(0)")

    slot = ChildSlot(gone, respawn, owner_spawns=True)
    result: list[Child] = []
    asking = threading.Thread(target=lambda: result.append(slot.respawn()), name="supervisor")
    asking.start()
    while not result:
        slot.serve()
        time.sleep(0.01)
    asking.join(10)
    assert spawned_by == [threading.current_thread().name]
    assert slot.current() is result[0]
    finished(result[0])


def test_slot_when_owner_never_serves_then_the_attempt_fails_naming_the_part(
    tmp_path: Path,
) -> None:
    gone = finished(child(tmp_path, "worker", "raise SystemExit(0)"))
    slot = ChildSlot(gone, lambda: gone, owner_spawns=True)
    with pytest.raises(RecoveryActionError, match=r"worker: not started within 0\.1 s"):
        slot.respawn(timeout=0.1)


def test_worker_when_it_fails_on_every_start_then_five_attempts_and_one_escalation(
    tmp_path: Path,
) -> None:
    """The whole path without Kafka: real processes, a fake clock for the backoff."""
    first = finished(child(tmp_path, "worker", "raise SystemExit(75)"))
    starts: list[Child] = []

    def respawn() -> Child:
        starts.append(finished(child(tmp_path, "worker", "raise SystemExit(1)")))
        return starts[-1]

    config = SupervisorConfig(stable_seconds=5, escalate_after_seconds=None)
    heartbeats = SetProbe()
    standard = Unit(config.rules("service:hfos-streams", schedules=False), heartbeats)
    units = as_children([standard], {"worker": ChildSlot(first, respawn)}, config, lambda _c: None)
    journal, clock = MemoryJournal(), FakeClock()
    supervisor = Supervisor(
        units,
        journal,
        {},
        clock=clock.now,
        random=ScriptedRandom([0.0]),
        escalation_state=lambda: EssState.REDUCING,
        say=lambda _line: None,
        actions=InlineExecutor(),
    )
    for _ in range(80):  # 40 s of fake time: the backoff's 31 s and then some
        supervisor.step()
        clock.advance(0.5)

    outcomes = [line["outcome"] for line in journal.lines()]
    assert len(starts) == 5
    assert outcomes.count("ATTEMPT_FAILED") == 5
    assert outcomes[-2:] == ["EXHAUSTED", "ESCALATED"]
    assert len(journal.escalations()) == 1
    delays = [line["delay_ms"] for line in journal.lines() if line["outcome"] == "ATTEMPT_STARTED"]
    assert delays == [1000, 2000, 4000, 8000, 16_000]
