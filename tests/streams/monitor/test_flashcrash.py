"""The flash-crash detector (SPEC §6), pure: episodes from observations' own times."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.ids import derived_id
from streams.monitor.flashcrash import FlashCrashDetector, Observation, Thresholds

DEFAULT = Thresholds()  # 3 % within 10 s


def tick(
    value: float, at: int, event_id: str | None = None, source: str = "symbol:BTC"
) -> Observation:
    return Observation(source, value, at, event_id or f"{source}-{at}")


def feed(detector: FlashCrashDetector, *observations: Observation) -> list:
    return [e for o in observations if (e := detector.observe(o, DEFAULT)) is not None]


def test_observe_when_price_gaps_20_percent_then_one_episode_with_its_numbers() -> None:
    episodes = feed(FlashCrashDetector(), tick(100.0, 0), tick(100.0, 500), tick(80.0, 1_000))
    [episode] = episodes
    assert episode.drop == 0.2
    assert (episode.peak, episode.value, episode.source) == (100.0, 80.0, "symbol:BTC")
    assert episode.episode_id == derived_id("flash-crash", "symbol:BTC", "symbol:BTC-1000")


def test_observe_when_drop_below_threshold_then_nothing() -> None:
    assert feed(FlashCrashDetector(), tick(100.0, 0), tick(97.01, 1_000)) == []


def test_observe_when_drop_exactly_at_threshold_then_episode() -> None:
    assert len(feed(FlashCrashDetector(), tick(100.0, 0), tick(97.0, 1_000))) == 1


def test_observe_when_same_drop_is_slower_than_the_window_then_nothing() -> None:
    """3 % over 20 s is a slide, not a crash (window 10 s)."""
    slide = [tick(100.0 - 0.15 * i, 1_000 * i) for i in range(21)]
    assert feed(FlashCrashDetector(), *slide) == []


def test_observe_when_the_same_tick_is_redelivered_then_no_second_episode() -> None:
    detector = FlashCrashDetector()
    crash = tick(80.0, 1_000)
    assert len(feed(detector, tick(100.0, 0), crash)) == 1
    assert feed(detector, crash, crash) == []


def test_observe_when_price_keeps_falling_within_the_episode_then_still_one() -> None:
    falls = [tick(100.0, 0), *(tick(96.0 - 2 * i, 1_000 * (i + 1)) for i in range(8))]
    assert len(feed(FlashCrashDetector(), *falls)) == 1


def test_observe_when_price_recovered_and_crashes_again_then_second_episode() -> None:
    detector = FlashCrashDetector()
    first = feed(detector, tick(100.0, 0), tick(90.0, 1_000))
    settled = feed(detector, tick(90.0, 12_000), tick(90.0, 13_000))  # window now at 90
    second = feed(detector, tick(85.0, 14_000))
    assert (len(first), settled, len(second)) == (1, [], 1)
    assert first[0].episode_id != second[0].episode_id


def test_observe_when_older_tick_arrives_after_a_newer_one_then_ignored() -> None:
    detector = FlashCrashDetector()
    feed(detector, tick(100.0, 5_000))
    assert feed(detector, tick(50.0, 4_000)) == []


def test_observe_when_sources_differ_then_judged_apart() -> None:
    detector = FlashCrashDetector()
    eth = [tick(100.0, 0, source="symbol:ETH"), tick(99.0, 1_000, source="symbol:ETH")]
    btc = [tick(100.0, 0), tick(90.0, 1_000)]
    assert [e.source for e in feed(detector, *eth, *btc)] == ["symbol:BTC"]


def test_observe_when_account_equity_drops_then_episode_on_the_account() -> None:
    equity = [tick(10_000.0, 0, source="account:a1"), tick(9_600.0, 2_000, source="account:a1")]
    [episode] = feed(FlashCrashDetector(), *equity)
    assert episode.source == "account:a1"


def test_observe_when_policy_tightens_then_next_observation_uses_it() -> None:
    detector = FlashCrashDetector()
    detector.observe(tick(100.0, 0), DEFAULT)
    assert detector.observe(tick(98.5, 1_000), Thresholds(drop=0.01, window_ms=10_000))


@given(st.lists(st.floats(50.0, 150.0), min_size=2, max_size=60))
def test_observe_when_replayed_then_same_episodes(prices: list[float]) -> None:
    """A restart that reads the same ticks again finds the same episodes (same ids)."""
    ticks = [tick(p, 500 * i) for i, p in enumerate(prices)]
    once = [e.episode_id for e in feed(FlashCrashDetector(), *ticks)]
    again = [e.episode_id for e in feed(FlashCrashDetector(), *ticks)]
    assert once == again
