"""Account state to and from the bytes the Faust table keeps in its changelog.

One record per account and batch goes to the changelog, so its size is the cost of every
write and of every restart's recovery: a JSON array in a fixed order, no field names, no
history. With a sequence high-water mark instead of the last 256 event ids (the previous
design), an account with three open positions encodes in under 200 bytes instead of
~5 kB, whatever its age.
"""

from __future__ import annotations

import json

from schemas.enums import BreachRule
from streams.drawdown.exceptions import DrawdownError
from streams.drawdown.state import AccountState

VERSION = 1
"""The first element of every encoded state: a later layout gets the next number."""

_RULE_BITS = {BreachRule.MAX_DRAWDOWN: 1, BreachRule.DAILY_LOSS: 2}


def encode_state(state: AccountState) -> bytes:
    warned = sum(bit for rule, bit in _RULE_BITS.items() if rule in state.warned)
    return json.dumps(
        [
            VERSION,
            state.account_id,
            state.sequence,
            state.wallet_balance,
            dict(state.positions),
            state.equity,
            state.peak_equity,
            state.day,
            state.day_start_equity,
            state.episode,
            int(state.latched),
            state.breaches.get(BreachRule.MAX_DRAWDOWN, 0),
            state.breaches.get(BreachRule.DAILY_LOSS, 0),
            warned,
            state.last_equity_at,
            state.reset_offset,
        ],
        separators=(",", ":"),
    ).encode()


def decode_state(data: bytes) -> AccountState:
    fields = json.loads(data)
    if not isinstance(fields, list) or not fields or fields[0] != VERSION:
        raise DrawdownError(f"breaker state of an unknown layout: {data[:40]!r}")
    (
        _,
        account,
        sequence,
        wallet,
        positions,
        equity,
        peak,
        day,
        day_start,
        episode,
        latched,
        drawdown_breaches,
        daily_breaches,
        warned,
        last_at,
        reset_offset,
    ) = fields
    return AccountState(
        account_id=account,
        sequence=sequence,
        wallet_balance=wallet,
        positions={str(symbol): float(pnl) for symbol, pnl in positions.items()},
        equity=equity,
        peak_equity=peak,
        day=day,
        day_start_equity=day_start,
        episode=episode,
        latched=bool(latched),
        breaches={
            BreachRule.MAX_DRAWDOWN: drawdown_breaches,
            BreachRule.DAILY_LOSS: daily_breaches,
        },
        warned=frozenset(rule for rule, bit in _RULE_BITS.items() if warned & bit),
        last_equity_at=last_at,
        reset_offset=reset_offset,
    )
