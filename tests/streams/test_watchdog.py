"""The stall detector: records waiting and no progress for ``patience`` checks."""

from __future__ import annotations

from streams.watchdog import StallDetector


def test_detector_when_records_wait_without_progress_then_stalled_after_patience() -> None:
    detector: StallDetector[str] = StallDetector(patience=3)
    assert detector.observe({"p0": (10, 4)}) == set()  # first sight: progress by definition
    assert detector.observe({"p0": (10, 4)}) == set()
    assert detector.observe({"p0": (12, 4)}) == set()
    assert detector.observe({"p0": (12, 4)}) == {"p0"}
    assert detector.observe({"p0": (12, 5)}) == set()  # it moved: healthy again


def test_detector_when_caught_up_then_never_stalled() -> None:
    detector: StallDetector[str] = StallDetector(patience=1)
    for _ in range(5):
        assert detector.observe({"idle": (7, 7)}) == set()


def test_detector_when_partition_revoked_then_forgotten() -> None:
    detector: StallDetector[str] = StallDetector(patience=2)
    detector.observe({"a": (5, 1)})
    detector.observe({"a": (5, 1)})
    assert detector.observe({"b": (3, 3)}) == set()
    assert detector.observe({"a": (5, 1)}) == set()  # back, counted afresh
