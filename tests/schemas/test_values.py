"""Value rules a consumer checks after decoding: finite numbers, fractions, positive sizes,
prices and leverage, and the name rule on ids, symbols and scopes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.catalogue import TOPICS
from schemas.examples import example_record
from schemas.loader import default_schemas
from schemas.values import rule_problems


def _problems(schema: str, **changes: object) -> list[str]:
    return rule_problems(schema, {**example_record(schema), **changes})


def test_rules_when_example_record_then_no_problem() -> None:
    assert _problems("hfos.PositionUpdated") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", 0.0), ("quantity", -1.0), ("leverage", 0.0), ("mark_price", -5.0)],
)
def test_rules_when_size_price_or_leverage_not_above_zero_then_named(
    field: str, value: float
) -> None:
    [problem] = _problems("hfos.PositionUpdated", **{field: value})
    assert problem.startswith(f"{field}: a ")
    assert "must be above 0" in problem


@pytest.mark.parametrize("account", ["", "a\x1bb", "x" * 65, "acc 1"])
def test_rules_when_account_id_breaks_name_rule_then_named(account: str) -> None:
    [problem] = _problems("hfos.BalanceUpdated", account_id=account)
    assert problem.startswith("account_id: ")


def test_rules_when_command_scope_malformed_then_named() -> None:
    [problem] = _problems("hfos.EssCommand", scope="account::")
    assert problem.startswith("scope: ")


def test_rules_when_nan_money_then_named() -> None:
    [problem] = _problems("hfos.BalanceUpdated", wallet_balance=float("nan"))
    assert problem == "wallet_balance: must be a finite number, got nan"


def _mutated(record: Any, draw: Any) -> Any:
    """``record`` with some doubles and strings replaced by values rules refuse."""
    if isinstance(record, dict):
        return {k: _mutated(v, draw) for k, v in record.items()}
    if isinstance(record, list):
        return [_mutated(v, draw) for v in record]
    if isinstance(record, float) and draw(st.booleans()):
        return draw(st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, 2.0]))
    if isinstance(record, str) and draw(st.booleans()):
        return draw(st.sampled_from(["", "a b", "\x1b", "x" * 70, "global", "account::"]))
    return record


@pytest.mark.parametrize("name", sorted({s.value_schema for s in TOPICS if s.value_schema}))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_rules_when_compiled_then_same_problems_as_the_schema_walk(name: str, data: Any) -> None:
    record = _mutated(example_record(name, seed=data.draw(st.integers(0, 10_000))), data.draw)
    assert rule_problems(name, record) == rule_problems(name, record, default_schemas())
