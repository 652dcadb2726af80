"""Account state to and from the JSON the Faust table stores in its changelog.

One record per account and change goes to the changelog, so its size is the cost of every
event and of every restart's recovery: short keys, no history. With a sequence high-water
mark instead of the last 256 event ids (the previous design), an account with three open
positions encodes in about 250 bytes instead of ~5 kB, whatever its age.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.enums import BreachRule
from streams.drawdown.state import AccountState

_RULE_KEYS = {BreachRule.MAX_DRAWDOWN: "bdd", BreachRule.DAILY_LOSS: "bdl"}


def state_to_json(state: AccountState) -> dict[str, Any]:
    return {
        "a": state.account_id,
        "q": state.sequence,
        "w": state.wallet_balance,
        "p": dict(state.positions),
        "e": state.equity,
        "pk": state.peak_equity,
        "d": state.day,
        "ds": state.day_start_equity,
        "ep": state.episode,
        "l": state.latched,
        **{key: state.breaches.get(rule, 0) for rule, key in _RULE_KEYS.items()},
        "wr": sorted(rule.value for rule in state.warned),
        "t": state.last_equity_at,
        "ro": state.reset_offset,
    }


def state_from_json(data: Mapping[str, Any]) -> AccountState:
    return AccountState(
        account_id=str(data["a"]),
        sequence=int(data["q"]),
        wallet_balance=data["w"],
        positions={str(k): float(v) for k, v in data["p"].items()},
        equity=data["e"],
        peak_equity=data["pk"],
        day=data["d"],
        day_start_equity=data["ds"],
        episode=int(data["ep"]),
        latched=bool(data["l"]),
        breaches={rule: int(data[key]) for rule, key in _RULE_KEYS.items()},
        warned=frozenset(BreachRule(v) for v in data["wr"]),
        last_equity_at=data["t"],
        reset_offset=int(data["ro"]),
    )
