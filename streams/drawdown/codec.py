"""Account state to and from the JSON the Faust table stores in its changelog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.enums import BreachRule
from streams.drawdown.state import AccountState


def state_to_json(state: AccountState) -> dict[str, Any]:
    return {
        "account_id": state.account_id,
        "wallet_balance": state.wallet_balance,
        "positions": dict(state.positions),
        "equity": state.equity,
        "peak_equity": state.peak_equity,
        "day": state.day,
        "day_start_equity": state.day_start_equity,
        "episode": state.episode,
        "latched": state.latched,
        "breaches": {rule.value: count for rule, count in state.breaches.items()},
        "warned": sorted(rule.value for rule in state.warned),
        "last_equity_at": state.last_equity_at,
        "wallet_as_of": state.wallet_as_of,
        "seen": list(state.seen),
    }


def state_from_json(data: Mapping[str, Any]) -> AccountState:
    return AccountState(
        account_id=str(data["account_id"]),
        wallet_balance=data["wallet_balance"],
        positions={str(k): float(v) for k, v in data["positions"].items()},
        equity=data["equity"],
        peak_equity=data["peak_equity"],
        day=data["day"],
        day_start_equity=data["day_start_equity"],
        episode=int(data["episode"]),
        latched=bool(data["latched"]),
        breaches={BreachRule(k): int(v) for k, v in data["breaches"].items()},
        warned=frozenset(BreachRule(v) for v in data["warned"]),
        last_equity_at=data["last_equity_at"],
        wallet_as_of=data.get("wallet_as_of"),
        seen=tuple(data["seen"]),
    )
