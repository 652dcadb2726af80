"""The account state survives the table's JSON round trip unchanged, and stays small."""

from __future__ import annotations

import json

from schemas.enums import BreachRule
from streams.drawdown.codec import state_from_json, state_to_json
from streams.drawdown.state import AccountState

BUSY = AccountState(
    account_id="acc-1",
    sequence=1_234_567,
    wallet_balance=1000.0,
    positions={"BTCUSDT": -12.5, "ETHUSDT": 3.25, "SOLUSDT": 0.0},
    equity=987.5,
    peak_equity=1100.0,
    day=20000,
    day_start_equity=1050.0,
    episode=3,
    latched=True,
    breaches={BreachRule.MAX_DRAWDOWN: 2, BreachRule.DAILY_LOSS: 0},
    warned=frozenset({BreachRule.DAILY_LOSS}),
    last_equity_at=1_700_000_000_000,
)


def test_state_when_round_tripped_through_json_then_equal() -> None:
    assert state_from_json(state_to_json(BUSY)) == BUSY


def test_fresh_state_when_round_tripped_then_equal() -> None:
    state = AccountState(account_id="acc-2")
    assert state_from_json(state_to_json(state)) == state


def test_state_when_encoded_then_a_few_hundred_bytes_however_old_the_account() -> None:
    """Issue 11.5: the record carried the last 256 event ids (~5 kB per event)."""
    assert len(json.dumps(state_to_json(BUSY))) < 300
