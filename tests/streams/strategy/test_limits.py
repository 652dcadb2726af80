"""Strategy presets (SPEC §5) and effective limits: a strategy never loosens policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import ProfileName, StrategyName
from streams.policy import DEFAULT_PROFILES
from streams.strategy import DEFAULT_STRATEGY, PRESETS, effective_limits

NORMAL = DEFAULT_PROFILES[ProfileName.NORMAL]
DEFENSIVE = DEFAULT_PROFILES[ProfileName.DEFENSIVE]


@pytest.mark.parametrize(
    ("name", "row"),
    [
        (StrategyName.CONSERVATIVE, (0.02, 5, 0.65, 600, 3)),
        (StrategyName.MODERATE, (0.05, 10, 0.50, 300, 5)),
        (StrategyName.AGGRESSIVE, (0.10, 20, 0.40, 120, 8)),
        (StrategyName.DEFENSIVE, (0.01, 3, 0.75, 900, 2)),
    ],
)
def test_presets_when_read_then_match_the_spec_table(
    name: StrategyName, row: tuple[float, float, float, int, int]
) -> None:
    preset = PRESETS[name]
    assert (
        preset.position_fraction,
        preset.leverage,
        preset.min_confidence,
        preset.cooldown_seconds,
        preset.max_open_positions,
    ) == row


def test_default_strategy_when_read_then_moderate() -> None:
    assert DEFAULT_STRATEGY is StrategyName.MODERATE


def test_limits_when_moderate_under_normal_then_stricter_of_each() -> None:
    limits = effective_limits(PRESETS[StrategyName.MODERATE], NORMAL)
    assert limits.leverage == 5.0  # profile 5 < preset 10
    assert limits.position_fraction == 0.015  # max_risk_per_trade 0.015 < preset 0.05
    assert limits.min_confidence == 0.50
    assert limits.max_open_positions == 5  # preset 5 < profile 30
    assert (limits.position_size_cap, limits.cooldown_seconds) == (1000.0, 300)


def test_limits_when_second_profile_given_then_held_to_both() -> None:
    limits = effective_limits(PRESETS[StrategyName.AGGRESSIVE], NORMAL, DEFENSIVE)
    assert (limits.leverage, limits.min_confidence, limits.position_size_cap) == (3.0, 0.60, 500.0)


def test_limits_when_no_profile_then_refused() -> None:
    with pytest.raises(TypeError):
        effective_limits(PRESETS[StrategyName.MODERATE])


def test_max_notional_when_equity_not_positive_then_zero() -> None:
    limits = effective_limits(PRESETS[StrategyName.MODERATE], NORMAL)
    assert limits.max_notional(-100.0) == 0.0
    assert limits.max_notional(10_000.0) == 150.0
    assert limits.max_notional(1_000_000.0) == 1000.0


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(StrategyName)), st.sampled_from(list(ProfileName)))
def test_limits_when_any_pair_then_never_looser_than_either(
    strategy: StrategyName, profile: ProfileName
) -> None:
    """Every effective limit is at least as strict as both the preset and the profile."""
    preset, values = PRESETS[strategy], DEFAULT_PROFILES[profile]
    limits = effective_limits(preset, values)
    assert limits.leverage <= min(preset.leverage, values.max_leverage)
    assert limits.position_fraction <= min(preset.position_fraction, values.max_risk_per_trade)
    assert limits.min_confidence >= max(preset.min_confidence, values.min_confidence)
    assert limits.max_open_positions <= min(preset.max_open_positions, values.max_open_positions)
    assert limits.position_size_cap <= values.position_size_cap
