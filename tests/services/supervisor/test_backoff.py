"""The backoff schedule: 1, 2, 4, 8, 16 s, each stretched by up to 10 % jitter from the
injected random source; bad settings and bad random draws are refused by name."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.supervisor import (
    DEFAULT_POLICY,
    BackoffConfigError,
    BackoffPolicy,
    RandomSourceError,
)
from streams.testing import ScriptedRandom


def test_delays_when_no_jitter_then_double_from_one_second() -> None:
    no_jitter = ScriptedRandom([0.0])
    assert [DEFAULT_POLICY.delay(n, no_jitter) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert DEFAULT_POLICY.max_attempts == 5


def test_delay_when_random_is_half_then_five_percent_longer() -> None:
    assert DEFAULT_POLICY.delay(1, ScriptedRandom([0.5])) == pytest.approx(1.05)


@given(st.integers(1, 5), st.floats(0, 1, exclude_max=True))
def test_delay_when_any_draw_then_within_base_and_ten_percent_more(
    attempt: int, draw: float
) -> None:
    base = 2 ** (attempt - 1)
    assert base <= DEFAULT_POLICY.delay(attempt, ScriptedRandom([draw])) < base * 1.1 + 1e-9


@pytest.mark.parametrize("draw", [1.0, -0.1, math.nan, math.inf])
def test_random_source_when_out_of_range_then_refused(draw: float) -> None:
    with pytest.raises(RandomSourceError) as raised:
        DEFAULT_POLICY.delay(1, ScriptedRandom([draw]))
    assert raised.value.value is draw


@pytest.mark.parametrize(
    ("field", "settings_"),
    [("delays", {"delays": ()}), ("delays", {"delays": (1.0, -2.0)}), ("jitter", {"jitter": 2.0})],
)
def test_policy_when_invalid_then_refused_naming_the_setting(
    field: str, settings_: dict[str, object]
) -> None:
    with pytest.raises(BackoffConfigError) as raised:
        BackoffPolicy(**settings_)  # type: ignore[arg-type]
    assert raised.value.field == field
