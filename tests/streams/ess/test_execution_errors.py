"""The execution-error window: >= 5 errors within 15 minutes asks for REDUCING."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ess import ERROR_WINDOW_MS, ErrorWindow, record_error
from streams.testing import START


def feed(times: list[int]) -> list[bool]:
    window, fired = ErrorWindow(), []
    for at in times:
        window, now_fired = record_error(window, at)
        fired.append(now_fired)
    return fired


def test_record_when_four_errors_then_not_triggered() -> None:
    assert feed([START + i for i in range(4)]) == [False] * 4


def test_record_when_fifth_error_within_fifteen_minutes_then_triggered() -> None:
    times = [START + i * 60_000 for i in range(5)]
    assert feed(times)[-1]


def test_record_when_five_errors_span_fifteen_minutes_exactly_then_not_triggered() -> None:
    times = [START, START + 1, START + 2, START + 3, START + ERROR_WINDOW_MS]
    assert not feed(times)[-1]


def test_record_when_many_errors_then_window_stays_bounded() -> None:
    window = ErrorWindow()
    for i in range(1000):
        window, _ = record_error(window, START + i)
    assert len(window.times) == 5


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3 * ERROR_WINDOW_MS), min_size=1, max_size=30))
def test_record_when_any_timestamps_then_matches_brute_force_count(offsets: list[int]) -> None:
    """Triggered exactly when >= 5 errors lie within 15 min of the newest seen so far."""
    window = ErrorWindow()
    seen: list[int] = []
    for offset in offsets:
        window, fired = record_error(window, START + offset)
        seen.append(START + offset)
        newest = max(seen)
        assert fired == (sum(newest - t < ERROR_WINDOW_MS for t in seen) >= 5)
