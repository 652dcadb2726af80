"""The live line of ``hfos up``: what the session did so far, folded from decoded records.

Pure: the Kafka reader (:mod:`services.up.watch`) feeds it records by catalogue name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from schemas.enums import AccountUpdateReason, EssState


@dataclass
class Tally:
    signals: int = 0
    requested: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    fills: int = 0
    failed: int = 0
    equity: dict[str, float] = field(default_factory=dict)
    breaker_triggers: int = 0
    ess: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Scope -> (version, state), the newest version seen."""

    def apply(self, name: str, record: Mapping[str, Any]) -> None:
        """Fold one record of catalogue topic ``name``. A fill is an ``account.updated``
        the venue wrote for an order it executed (reason FILL): an order it did not
        execute is answered on ``order.failed`` and is never counted as a fill."""
        if name == TRADE_SIGNAL.name:
            self.signals += 1
        elif name == ORDER_REQUESTED.name:
            self.requested += 1
        elif name == ORDER_REJECTED.name:
            self.rejected[str(record["reason"])] += 1
        elif name == ORDER_FAILED.name:
            self.failed += 1
        elif name == ACCOUNT_UPDATED.name:
            self.fills += record["reason"] == AccountUpdateReason.FILL
            equity = record.get("equity")
            self.equity[str(record["account_id"])] = float(
                record["wallet_balance"] if equity is None else equity
            )
        elif name == CIRCUIT_BREAKER_TRIGGERED.name:
            self.breaker_triggers += 1
        elif name == ESS_STATE.name:
            self._ess(str(record["scope"]), int(record["version"]), str(record["state"]))

    def _ess(self, scope: str, version: int, state: str) -> None:
        held = self.ess.get(scope)
        if held is None or held[0] < version:
            self.ess[scope] = (version, state)

    def line(self) -> str:
        reasons = ", ".join(f"{reason} {n}" for reason, n in self.rejected.most_common())
        rejected = sum(self.rejected.values())
        equity = " ".join(f"{a}={v:,.2f}" for a, v in sorted(self.equity.items())) or "-"
        return (
            f"signals {self.signals} | orders {self.requested} | rejected {rejected}"
            f"{f' ({reasons})' if reasons else ''} | fills {self.fills} | failed {self.failed} | "
            f"equity {equity} | breaker trips {self.breaker_triggers} | ESS {self.ess_summary()}"
        )

    def ess_summary(self) -> str:
        """``ARMED`` when no scope is anything else (a scope never written is ARMED),
        else every scope that is not ARMED with its state."""
        other = [
            f"{scope} {state}"
            for scope, (_, state) in sorted(self.ess.items())
            if state != EssState.ARMED
        ]
        return ", ".join(other) or EssState.ARMED.value
