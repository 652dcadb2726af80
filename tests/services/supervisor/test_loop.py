"""The supervising loop with in-memory edges and a fake clock: probes in, actions run,
one journal entry per step (lines, state, escalation), a restarted supervisor resumes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from schemas.catalogue import ESS_COMMAND, RECOVERY_STATE, SYSTEM_RECOVERY
from schemas.contracts import contract
from schemas.enums import EssState, RecoveryAction
from schemas.enums import RecoveryPhase as Phase
from schemas.serde import invalid_fields
from services.supervisor import EpisodeRulesError, Rules
from services.supervisor.loop import Supervisor, Unit
from services.supervisor.records import escalation_id
from services.supervisor.testing import InlineExecutor, MemoryJournal, RecordingAction, SetProbe
from streams.ess.codec import command_from_record
from streams.testing import FakeClock, ScriptedRandom

WORKER = Rules("service:hfos-streams", critical=True, attempt_timeout_ms=5_000, stable_ms=3_000)


class Bench:
    """One supervised unit on a fake clock, stepped by hand."""

    def __init__(
        self, rules: Rules = WORKER, *, platform: bool = False, target: EssState = EssState.REDUCING
    ) -> None:
        self.clock = FakeClock()
        self.probe = SetProbe()
        self.action = RecordingAction()
        self.journal = MemoryJournal()
        self.rules = replace(rules, schedules=not platform)
        self.platform = platform
        self.target = target
        self.supervisor = self.restart()

    def restart(self) -> Supervisor:
        """A new supervisor from the journal's last states (as after a SIGKILL)."""
        unit = Unit(
            self.rules,
            self.probe,
            None if self.platform else self.action,
            RecoveryAction.PLATFORM if self.platform else RecoveryAction.CHILD_PROCESS,
        )
        self.supervisor = Supervisor(
            [unit],
            self.journal,
            self.journal.states(),
            clock=self.clock.now,
            random=ScriptedRandom([0.0]),
            escalation_state=lambda: self.target,
            say=lambda _line: None,
            actions=InlineExecutor(),
        )
        return self.supervisor

    def step(self, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)
        self.supervisor.step()

    def outcomes(self) -> list[tuple[str, int]]:
        return [(line["outcome"], line["attempt"]) for line in self.journal.lines()]

    @property
    def state(self) -> Phase:
        return self.supervisor.states[self.rules.subsystem].phase


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_loop_when_part_fails_then_restarted_once_due_and_recovered_after_stable_period() -> None:
    bench = Bench()
    bench.probe.fail("no heartbeat")
    bench.step()
    bench.step(0.9)
    assert bench.action.restarts == 0
    bench.step(0.1)
    assert bench.action.restarts == 1
    bench.probe.heal()
    bench.step(1)
    bench.step(3)
    assert bench.outcomes() == [
        ("FAILURE_DETECTED", 0),
        ("ATTEMPT_SCHEDULED", 1),
        ("ATTEMPT_STARTED", 1),
        ("ATTEMPT_SUCCEEDED", 1),
        ("RECOVERED", 1),
    ]
    assert bench.state is Phase.HEALTHY


def test_loop_when_process_still_alive_then_attempt_waits_and_is_not_counted() -> None:
    bench = Bench()
    bench.probe.fail()
    bench.action.alive = "pid 42 is still running"
    bench.step()
    bench.step(30)
    assert bench.action.restarts == 0
    bench.action.alive = None
    bench.step(0.1)
    assert bench.action.restarts == 1
    started = [line for line in bench.journal.lines() if line["outcome"] == "ATTEMPT_STARTED"]
    assert [line["attempt"] for line in started] == [1]


def test_loop_when_action_raises_then_attempt_failed_with_its_error_and_next_scheduled() -> None:
    bench = Bench()
    bench.probe.fail()
    bench.action.refuse = "port 6379 is taken by another process"
    bench.step()
    bench.step(1)
    bench.step()
    failed = bench.journal.lines()[-2]
    assert (failed["outcome"], failed["attempt"]) == ("ATTEMPT_FAILED", 1)
    assert failed["error"] == "part: port 6379 is taken by another process"
    scheduled = bench.journal.lines()[-1]
    assert (scheduled["outcome"], scheduled["attempt"], scheduled["delay_ms"]) == (
        "ATTEMPT_SCHEDULED",
        2,
        2000,
    )


def test_loop_when_started_process_exits_then_attempt_failed_without_waiting_the_window() -> None:
    bench = Bench()
    bench.probe.fail()
    bench.step()
    bench.step(1)
    bench.action.exit_with = "worker exited with exit 1"
    bench.step(0.1)
    assert bench.outcomes()[-2:] == [("ATTEMPT_FAILED", 1), ("ATTEMPT_SCHEDULED", 2)]


def test_loop_when_critical_part_exhausts_then_one_escalation_command_for_the_episode() -> None:
    bench = Bench()
    bench.probe.fail("no heartbeat")
    bench.action.exit_with = "exit 1"
    bench.step()
    for _ in range(200):
        bench.step(0.5)
    [command] = bench.journal.escalations()
    opened = bench.journal.states()[WORKER.subsystem].opened_at
    assert opened is not None
    cause = escalation_id(WORKER.subsystem, 1, opened)
    parsed = command_from_record(command)
    assert (str(parsed.scope), parsed.kind.value, parsed.trigger.value) == (
        "global",
        "REDUCE",
        "SUPERVISOR_ESCALATION",
    )
    assert parsed.cause_event_id == cause
    escalated = [line for line in bench.journal.lines() if line["outcome"] == "ESCALATED"]
    assert [line["envelope"]["event_id"] for line in escalated] == [cause]
    assert escalated[0]["escalated_to"] == "REDUCING"
    assert bench.action.restarts == 5


def test_loop_when_policy_names_tripped_then_escalation_trips() -> None:
    bench = Bench(replace(WORKER, escalate_after_ms=2_000), target=EssState.TRIPPED)
    bench.probe.fail()
    bench.action.alive = "alive but not answering"
    bench.step()
    bench.step(2)
    [command] = bench.journal.escalations()
    assert command["kind"] == "TRIP"


def test_loop_when_restarted_mid_episode_then_attempt_count_resumes() -> None:
    bench = Bench()
    bench.probe.fail()
    bench.action.exit_with = "exit 1"
    bench.step()
    for _ in range(8):  # attempts 1 (t=1 s) and 2 (t=3 s) fail; 3 is due at t=7 s
        bench.step(0.5)
    assert bench.supervisor.states[WORKER.subsystem].attempt == 2
    bench.restart()
    for _ in range(10):
        bench.step(0.5)
    started = [
        line["attempt"] for line in bench.journal.lines() if line["outcome"] == "ATTEMPT_STARTED"
    ]
    episodes = {line["episode"] for line in bench.journal.lines()}
    assert started == [1, 2, 3]
    assert episodes == {1}


def test_loop_when_platform_restarts_the_process_then_each_restart_is_an_attempt() -> None:
    bench = Bench(platform=True)
    bench.probe.heal("w@1")
    bench.step()
    bench.probe.fail("no heartbeat for 10.0 s", "w@1")
    bench.step(10)
    bench.probe.heal("w@2")
    bench.step(4)
    assert bench.outcomes() == [
        ("FAILURE_DETECTED", 0),
        ("ATTEMPT_STARTED", 1),
        ("ATTEMPT_SUCCEEDED", 1),
    ]
    started = bench.journal.lines()[1]
    assert (started["delay_ms"], started["action"]) == (4000, "PLATFORM")


def test_records_when_journaled_then_each_is_valid_for_its_avro_schema() -> None:
    bench = Bench(replace(WORKER, escalate_after_ms=2_000))
    bench.probe.fail()
    bench.step()
    bench.step(3)
    entry = bench.journal.entries[-1]
    assert entry.escalation is not None
    for line in entry.lines:
        assert invalid_fields(contract(SYSTEM_RECOVERY).parsed, line) == []
    assert invalid_fields(contract(RECOVERY_STATE).parsed, entry.state) == []
    assert invalid_fields(contract(ESS_COMMAND).parsed, entry.escalation) == []


def test_metrics_when_attempts_and_exhaustion_then_counted_by_subsystem() -> None:
    rules = replace(WORKER, subsystem="metrics-test", critical=False)
    bench = Bench(rules)
    bench.probe.fail()
    bench.action.exit_with = "exit 1"
    bench.step()
    assert metric("hfos_recovery_episode_open", subsystem="metrics-test") == 1
    for _ in range(200):
        bench.step(0.5)
    failed = metric(
        "hfos_recovery_attempts_total", subsystem="metrics-test", outcome="ATTEMPT_FAILED"
    )
    assert failed == 5
    assert metric("hfos_recovery_exhausted_total", subsystem="metrics-test") == 1


def test_unit_when_action_and_platform_rules_disagree_then_refused() -> None:
    with pytest.raises(EpisodeRulesError, match="action"):
        Unit(replace(WORKER, schedules=False), SetProbe(), RecordingAction())
