"""Value rules a consumer checks after decoding: finite numbers, fractions, positive sizes,
prices and leverage, and the name rule on ids, symbols and scopes."""

from __future__ import annotations

import pytest

from schemas.examples import example_record
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
