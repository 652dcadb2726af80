"""A service loop's reporter: ready only when connected and caught up on its control
partitions; lag exported per topic (a fake broker answer, a fake clock)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from prometheus_client import REGISTRY

from services.health.offsets import Partition
from services.health.probe import Probe, Verdict
from services.health.reporter import LoopReporter, Snapshot


class Ends:
    def __init__(self, ends: Mapping[Partition, int], *, connected: bool = True) -> None:
        self.ends = dict(ends)
        self.connected = connected
        self.asked: set[Partition] = set()

    def check(self, partitions: Collection[Partition]) -> Verdict:
        self.asked = set(partitions)
        return Verdict(ok=self.connected, detail="connected" if self.connected else "silent")


def report(ends: Ends, snapshot: Snapshot) -> Probe:
    probe = Probe("test-loop", clock=lambda: 5.0)
    LoopReporter(probe, ends, lambda: snapshot, clock=lambda: 5.0)()  # type: ignore[arg-type]
    return probe


CONTROL = ("t.ess.state", 0)


def test_reporter_when_control_read_to_end_and_broker_answers_then_ready() -> None:
    probe = report(Ends({CONTROL: 9}), Snapshot("c", {CONTROL: 9}, must_reach=(CONTROL,)))
    assert probe.readiness() == Verdict(ok=True, detail="caught up and connected")


def test_reporter_when_control_behind_then_not_ready_naming_partition() -> None:
    probe = report(Ends({CONTROL: 9}), Snapshot("c", {CONTROL: 4}, must_reach=(CONTROL,)))
    assert probe.readiness().detail == "not caught up on t.ess.state:0"


def test_reporter_when_broker_silent_then_not_ready() -> None:
    probe = report(Ends({}, connected=False), Snapshot("c", {CONTROL: 9}, must_reach=(CONTROL,)))
    assert probe.readiness().detail == "silent"


def test_reporter_when_service_waiting_then_not_ready_with_its_reason() -> None:
    probe = report(Ends({}), Snapshot("c", {}, waiting=("rebuilding the book",)))
    assert probe.readiness().detail == "rebuilding the book"


def test_reporter_when_run_then_asks_positions_control_and_probe_partitions() -> None:
    ends = Ends({})
    report(ends, Snapshot("c", {("a", 0): 1}, must_reach=(CONTROL,), asked=(("b", 0),)))
    assert ends.asked == {("a", 0), CONTROL, ("b", 0)}


def test_reporter_when_partitions_behind_then_lag_gauge_per_topic() -> None:
    ends = Ends({("t.trade.signal", 0): 50, ("t.trade.signal", 1): 5})
    report(ends, Snapshot("lag-test", {("t.trade.signal", 0): 20, ("t.trade.signal", 1): 5}))
    labels = {"consumer": "lag-test", "topic": "t.trade.signal"}
    assert REGISTRY.get_sample_value("hfos_consumer_lag", labels) == 30
