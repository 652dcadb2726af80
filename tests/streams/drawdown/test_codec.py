"""The account state survives the changelog's byte form unchanged, and stays small."""

from __future__ import annotations

import pytest

from schemas.enums import BreachRule
from streams.drawdown import DrawdownError
from streams.drawdown.codec import decode_state, encode_state
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
    reset_offset=41,
)


def test_state_when_round_tripped_through_bytes_then_equal() -> None:
    assert decode_state(encode_state(BUSY)) == BUSY


def test_fresh_state_when_round_tripped_then_equal() -> None:
    state = AccountState(account_id="acc-2")
    assert decode_state(encode_state(state)) == state


def test_state_when_encoded_then_under_200_bytes_however_old_the_account() -> None:
    """Issue 11.5: the record carried the last 256 event ids (~5 kB per event)."""
    assert len(encode_state(BUSY)) < 200


def test_state_when_layout_unknown_then_refused_naming_it() -> None:
    with pytest.raises(DrawdownError, match="unknown layout"):
        decode_state(b'{"account_id": "acc-1", "seen": []}')
