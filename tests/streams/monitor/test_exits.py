"""The exit decision and the features it is made from (pure)."""

from __future__ import annotations

from streams.monitor.exits import OpenPosition, close_signal_id, decide
from streams.monitor.features import FEATURE_COUNT, row

LONG = OpenPosition("a1", "BTC", "LONG", 1.0, 100.0, 95.0, 5.0)


def test_decide_when_score_reaches_threshold_then_exit_naming_model_and_version() -> None:
    found = decide(LONG, 0.5, "exit-model", "2", threshold=0.5)
    assert found is not None
    assert (found.model, found.version, found.score) == ("exit-model", "2", 0.5)


def test_decide_when_score_below_threshold_then_none() -> None:
    assert decide(LONG, 0.4999, "exit-model", "2", threshold=0.5) is None


def test_signal_id_when_same_position_and_version_then_same_id_else_different() -> None:
    same = close_signal_id(LONG, "exit-model", "2")
    assert same == close_signal_id(LONG, "exit-model", "2")
    assert same != close_signal_id(LONG, "exit-model", "3")
    reopened = OpenPosition("a1", "BTC", "LONG", 1.0, 101.0, 95.0, 5.0)
    assert same != close_signal_id(reopened, "exit-model", "2")


def test_row_when_short_position_gains_then_positive_return_and_momentum() -> None:
    moved, leverage, levered, size, momentum = row(-1.0, 100.0, 90.0, 4.0, [100.0, 95.0, 90.0])
    assert (round(moved, 6), leverage, round(levered, 6), round(size, 6)) == (0.1, 4.0, 0.4, 0.4)
    assert round(momentum, 6) == 0.1
    assert len(row(1.0, 100.0, 100.0, 1.0, [])) == FEATURE_COUNT
