"""The execution-error window: >= 5 errors within 15 minutes asks for REDUCING."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.ess import ERROR_WINDOW_MS, ErrorWindow, record_error
from streams.testing import START


def feed(times: list[int], window: ErrorWindow | None = None) -> list[bool]:
    window, fired = window or ErrorWindow(), []
    for i, at in enumerate(times):
        window, now_fired = record_error(window, at, f"e{i}")
        fired.append(now_fired)
    return fired


def test_record_when_four_errors_then_not_triggered() -> None:
    assert feed([START + i for i in range(4)]) == [False] * 4


def test_record_when_fifth_error_within_fifteen_minutes_then_triggered() -> None:
    times = [START + i * 60_000 for i in range(5)]
    assert feed(times) == [False] * 4 + [True]


def test_record_when_five_errors_span_fifteen_minutes_exactly_then_not_triggered() -> None:
    times = [START, START + 1, START + 2, START + 3, START + ERROR_WINDOW_MS]
    assert not feed(times)[-1]


def test_record_when_errors_continue_past_the_threshold_then_each_new_one_triggers() -> None:
    assert feed([START + i for i in range(7)]) == [False] * 4 + [True] * 3


def test_record_when_many_errors_then_window_stays_bounded() -> None:
    window = ErrorWindow()
    for i in range(1000):
        window, _ = record_error(window, START + i, f"e{i}")
    assert len(window.errors) == 5


def test_record_when_an_error_is_redelivered_then_it_counts_once() -> None:
    window = ErrorWindow()
    for i in range(4):
        window, _ = record_error(window, START + i, f"e{i}")
        window, fired = record_error(window, START + i, f"e{i}")
        assert not fired
    assert len(window.errors) == 4


def test_record_when_an_error_that_left_the_window_is_redelivered_then_nothing_fires() -> None:
    window = ErrorWindow()
    for i in range(6):
        window, _ = record_error(window, START + i, f"e{i}")
    after, fired = record_error(window, START, "e0")
    assert (after, fired) == (window, False)


def test_window_when_round_tripped_through_json_then_unchanged() -> None:
    window = ErrorWindow()
    for i in (3, 1, 2):
        window, _ = record_error(window, START + i, f"e{i}")
    assert ErrorWindow.from_json(window.to_json()) == window


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3 * ERROR_WINDOW_MS), min_size=1, max_size=30))
def test_record_when_in_order_timestamps_then_matches_brute_force_count(
    offsets: list[int],
) -> None:
    """Errors arriving in time order: triggered exactly when >= 5 errors lie within 15 min
    of the newest."""
    window = ErrorWindow()
    seen: list[int] = []
    for i, offset in enumerate(sorted(offsets)):
        window, fired = record_error(window, START + offset, f"e{i}")
        seen.append(START + offset)
        assert fired == (sum(seen[-1] - t < ERROR_WINDOW_MS for t in seen) >= 5)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 3 * ERROR_WINDOW_MS), min_size=1, max_size=30),
    st.data(),
)
def test_record_when_any_prefix_is_fed_twice_then_outputs_are_those_of_once(
    offsets: list[int], data: st.DataObject
) -> None:
    """Redelivery: replaying any prefix of the errors (same ids) changes no output and
    leaves the same window."""
    errors = [(START + offset, f"e{i}") for i, offset in enumerate(offsets)]
    cut = data.draw(st.integers(0, len(errors)))
    once, twice = ErrorWindow(), ErrorWindow()
    fired_once = []
    for at, event_id in errors:
        once, fired = record_error(once, at, event_id)
        fired_once.append(fired)
    fired_twice = []
    for at, event_id in [*errors[:cut], *errors]:
        twice, fired = record_error(twice, at, event_id)
        fired_twice.append(fired)
    assert once == twice
    assert fired_twice[:cut] + fired_twice[2 * cut :] == fired_once
    assert not any(fired_twice[cut : 2 * cut])
