"""The simulator's pure parts: the seeded walk, scripted gaps, their parsing, the signals."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import SignalAction
from services.simulator import Gap, RandomWalk, SignalGenerator, SignalModel, parse_gap
from services.simulator.exceptions import InvalidGapError, SimulatorConfigError
from services.simulator.walk import start_prices


def test_parse_gap_when_well_formed_then_tick_symbol_and_fraction() -> None:
    assert parse_gap("50:BTCUSDT:-0.12", ["BTCUSDT"]) == Gap(50, "BTCUSDT", -0.12)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("50:BTCUSDT", "format"),
        ("50:BTCUSDT:-0.1:x", "format"),
        ("0:BTCUSDT:-0.1", "TICK"),
        ("x:BTCUSDT:-0.1", "TICK"),
        ("5:DOGEUSDT:-0.1", "SYMBOL"),
        ("5::-0.1", "SYMBOL"),
        ("5:BTCUSDT:lots", "CHANGE"),
        ("5:BTCUSDT:-1", "CHANGE"),
        ("5:BTCUSDT:nan", "CHANGE"),
    ],
)
def test_parse_gap_when_a_part_is_bad_then_error_names_that_part(text: str, part: str) -> None:
    with pytest.raises(InvalidGapError) as raised:
        parse_gap(text, ["BTCUSDT", "ETHUSDT"])
    assert raised.value.part == part
    assert part in str(raised.value)


def test_walk_when_same_seed_then_same_prices_and_other_seed_differs() -> None:
    start = {"BTCUSDT": 100.0, "ETHUSDT": 10.0}

    runs = [RandomWalk(start, 0.01, seed) for seed in (7, 7, 8)]
    series = [[walk.step() for _ in range(20)] for walk in runs]

    assert series[0] == series[1]
    assert series[0] != series[2]
    assert runs[0].tick == 20


def test_walk_when_gap_scripted_then_that_tick_moves_by_the_fraction_exactly() -> None:
    walk = RandomWalk({"BTCUSDT": 100.0, "ETHUSDT": 10.0}, 0.0, 1, [Gap(3, "BTCUSDT", -0.12)])

    series = [walk.step() for _ in range(4)]

    assert [p["BTCUSDT"] for p in series] == pytest.approx([100.0, 100.0, 88.0, 88.0])
    assert {p["ETHUSDT"] for p in series} == {10.0}


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.2))
def test_walk_log_returns_are_volatility_times_a_normal_draw_and_stay_positive(
    seed: int, volatility: float
) -> None:
    walk = RandomWalk({"X": 100.0}, volatility, seed)
    prices = [100.0] + [walk.step()["X"] for _ in range(50)]

    assert all(p > 0 for p in prices)
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    assert all(abs(r) <= volatility * 7 + 1e-12 for r in returns)


@pytest.mark.parametrize(
    ("start", "volatility", "gaps", "field"),
    [
        ({}, 0.01, [], "symbols"),
        ({"X": 1.0}, -0.1, [], "volatility"),
        ({"X": 1.0}, 1.0, [], "volatility"),
        ({"X": 0.0}, 0.01, [], "start price of X"),
        ({"X": 1.0}, 0.01, [Gap(1, "Y", -0.1)], "gap symbol"),
    ],
)
def test_walk_when_setting_out_of_range_then_config_error_names_it(
    start: dict[str, float], volatility: float, gaps: list[Gap], field: str
) -> None:
    with pytest.raises(SimulatorConfigError) as raised:
        RandomWalk(start, volatility, 0, gaps)
    assert raised.value.field == field


def test_start_prices_when_not_given_then_known_symbol_price_else_default() -> None:
    prices = start_prices(["BTCUSDT", "ABCUSDT", "ETHUSDT"], {"ETHUSDT": 2_500.0})

    assert prices == {"BTCUSDT": 60_000.0, "ABCUSDT": 100.0, "ETHUSDT": 2_500.0}


def test_signals_when_same_seed_and_run_then_same_drafts_one_per_account() -> None:
    def make() -> SignalGenerator:
        return SignalGenerator(["a", "b"], ["BTCUSDT", "ETHUSDT"], 3, "run-1")

    first, again = make(), make()

    drafts = [first.at(tick) for tick in (4, 8, 12)]
    assert drafts == [again.at(tick) for tick in (4, 8, 12)]
    assert [[d.account_id for d in tick] for tick in drafts] == [["a", "b"]] * 3
    assert len({d.signal_id for tick in drafts for d in tick}) == 6


def test_signals_when_many_drawn_then_every_action_appears_and_confidence_in_range() -> None:
    generator = SignalGenerator(["a"], ["X"], 5, "r", SignalModel("m", "2", 0.3, 0.6))

    drafts = [d for tick in range(1, 400) for d in generator.at(tick)]

    assert {d.action for d in drafts} == set(SignalAction)
    assert all(0.3 <= d.confidence <= 0.6 for d in drafts)
    assert {(d.model_name, d.model_version) for d in drafts} == {("m", "2")}


@pytest.mark.parametrize(("low", "high"), [(0.7, 0.6), (-0.1, 0.5), (0.2, 1.1)])
def test_signals_when_confidence_range_invalid_then_refused(low: float, high: float) -> None:
    with pytest.raises(SimulatorConfigError):
        SignalGenerator(["a"], ["X"], 0, "r", SignalModel("m", "1", low, high))
