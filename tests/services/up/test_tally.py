"""The live line of ``hfos up``, folded from records."""

from __future__ import annotations

from typing import Any

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
    ESS_STATE,
    ORDER_FAILED,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    TRADE_SIGNAL,
)
from services.up.tally import Tally


def ess(scope: str, state: str, version: int) -> dict[str, Any]:
    return {"scope": scope, "state": state, "version": version}


def test_tally_when_decisions_folded_then_line_counts_them_by_reason() -> None:
    tally = Tally()
    tally.apply(TRADE_SIGNAL.name, {})
    tally.apply(TRADE_SIGNAL.name, {})
    tally.apply(TRADE_SIGNAL.name, {})
    tally.apply(ORDER_REQUESTED.name, {})
    tally.apply(ORDER_REJECTED.name, {"reason": "SYMBOL_COOLDOWN"})
    tally.apply(ORDER_REJECTED.name, {"reason": "SYMBOL_COOLDOWN"})
    tally.apply(ORDER_FAILED.name, {"reason": "UNKNOWN_ACCOUNT"})

    line = tally.line()

    assert "signals 3 | orders 1 | rejected 2 (SYMBOL_COOLDOWN 2) | fills 0 | failed 1" in line


def _account(reason: str, wallet: float, equity: float | None) -> dict[str, object]:
    return {"account_id": "a", "reason": reason, "wallet_balance": wallet, "equity": equity}


def test_tally_when_account_update_is_a_fill_then_fills_count_it_and_equity_is_latest() -> None:
    tally = Tally()
    tally.apply(ACCOUNT_UPDATED.name, _account("FUNDING", 10.0, None))
    tally.apply(ACCOUNT_UPDATED.name, _account("FILL", 9.0, 12.5))
    tally.apply(ACCOUNT_UPDATED.name, _account("MARK", 9.0, 12.0))

    assert tally.fills == 1
    assert tally.equity == {"a": 12.0}


def test_tally_when_order_failed_then_a_failure_not_a_fill() -> None:
    """Issue 12.4: orders the venue ignored were counted as fills (6 of 11 in a session)."""
    tally = Tally()
    tally.apply(ORDER_FAILED.name, {"reason": "NOTHING_TO_REDUCE"})

    assert (tally.fills, tally.failed) == (0, 1)


def test_tally_when_equity_is_null_then_wallet_balance_shown() -> None:
    tally = Tally()
    tally.apply(ACCOUNT_UPDATED.name, _account("FUNDING", 10.0, None))

    assert tally.equity == {"a": 10.0}


def test_ess_summary_when_no_scope_written_then_armed() -> None:
    assert Tally().ess_summary() == "ARMED"


def test_ess_summary_when_a_scope_trips_then_named_with_its_state() -> None:
    tally = Tally()
    tally.apply(ESS_STATE.name, ess("global", "ARMED", 1))
    tally.apply(ESS_STATE.name, ess("account:a", "TRIPPED", 2))

    assert tally.ess_summary() == "account:a TRIPPED"


def test_ess_summary_when_older_version_arrives_later_then_newest_kept() -> None:
    tally = Tally()
    tally.apply(ESS_STATE.name, ess("account:a", "COOLING_DOWN", 3))
    tally.apply(ESS_STATE.name, ess("account:a", "TRIPPED", 2))

    assert tally.ess_summary() == "account:a COOLING_DOWN"


def test_tally_when_breaker_triggers_then_counted() -> None:
    tally = Tally()
    tally.apply(CIRCUIT_BREAKER_TRIGGERED.name, {"account_id": "a"})

    assert "breaker trips 1" in tally.line()
