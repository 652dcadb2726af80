"""The stall detector: records waiting and no progress for ``patience`` checks."""

from __future__ import annotations

import pytest

from streams import watchdog
from streams.watchdog import Progress, StallDetector


def test_detector_when_records_wait_without_progress_then_stalled_after_patience() -> None:
    detector: StallDetector[str] = StallDetector(patience=3)
    assert (
        detector.observe({"p0": Progress.of(10, 4, 4, 0)}) == set()
    )  # first sight: progress by definition
    assert detector.observe({"p0": Progress.of(10, 4, 4, 0)}) == set()
    assert detector.observe({"p0": Progress.of(12, 4, 4, 0)}) == set()
    assert detector.observe({"p0": Progress.of(12, 4, 4, 0)}) == {"p0"}
    assert detector.observe({"p0": Progress.of(12, 5, 5, 0)}) == set()  # it moved: healthy again


def test_detector_when_caught_up_then_never_stalled() -> None:
    detector: StallDetector[str] = StallDetector(patience=1)
    for _ in range(5):
        assert detector.observe({"idle": Progress.of(7, 7, 7, 0)}) == set()


def test_detector_when_partition_revoked_then_forgotten() -> None:
    detector: StallDetector[str] = StallDetector(patience=2)
    detector.observe({"a": Progress.of(5, 1, 1, 0)})
    detector.observe({"a": Progress.of(5, 1, 1, 0)})
    assert detector.observe({"b": Progress.of(3, 3, 3, 0)}) == set()
    assert detector.observe({"a": Progress.of(5, 1, 1, 0)}) == set()  # back, counted afresh


def test_progress_when_only_a_commit_marker_remains_then_nothing_waits() -> None:
    # fetched to the end (9), committed 8: offset 8 is a transaction's commit marker
    assert not Progress.of(9, 9, 8, 0).waiting


def test_progress_when_fetched_but_not_done_then_waiting() -> None:
    assert Progress.of(9, 9, 5, 2).waiting
    assert Progress.of(9, 7, 7, 0).waiting


def test_watchdog_when_stall_outlasts_limit_then_process_exits_for_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(watchdog.os, "_exit", exits.append)
    clock = iter([100.0, 105.0, 111.0, 112.0])
    monkeypatch.setattr(watchdog.time, "monotonic", lambda: next(clock))
    dog = watchdog.Watchdog.__new__(watchdog.Watchdog)
    dog._exit_after, dog._stalled_since = 10.0, None
    dog._maybe_exit(stalled=True)
    dog._maybe_exit(stalled=True)
    assert exits == []
    dog._maybe_exit(stalled=True)
    assert exits == [watchdog.EXIT_STALLED]
    dog._maybe_exit(stalled=False)
    assert dog._stalled_since is None


def test_progress_when_unacked_but_all_fetched_is_committed_then_nothing_waits() -> None:
    # seen after a restart: Faust held a second copy of a committed record as unacked
    assert not Progress.of(3, 3, 3, 1).waiting


def test_progress_when_fetch_position_behind_but_committed_at_end_then_nothing_waits() -> None:
    """Issue 11.3: end 2294, fetched 2273, committed 2294 made the worker exit 75."""
    assert not Progress.of(end=2294, fetched=2273, committed=2294, unacked=0).waiting
