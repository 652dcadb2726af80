"""The exit decision of the position monitor (SPEC §6), pure: which open positions the
live exit model says to close, under which signal id.

A position is scored on every change of it (an account update) and of its symbol's price.
It is *to close* when the model's probability reaches ``threshold``; the CLOSE signal's
id is derived from the account, the symbol, the position (side and entry price name it:
a new position after a close has a new entry) and the model version, so the same position
under the same version is one signal however often it is scored, and after a restart
too — the executor decides a signal id once.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.ids import derived_id

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class OpenPosition:
    account_id: str
    symbol: str
    side: str
    """``LONG`` or ``SHORT``."""
    quantity: float
    entry_price: float
    mark_price: float
    leverage: float

    @property
    def direction(self) -> float:
        return 1.0 if self.side == "LONG" else -1.0


@dataclass(frozen=True)
class Exit:
    """A decision to close ``position``: the model that said so, and how sure it was."""

    signal_id: str
    position: OpenPosition
    score: float
    model: str
    version: str


def close_signal_id(position: OpenPosition, model: str, version: str) -> str:
    return derived_id(
        "monitor.close",
        position.account_id,
        position.symbol,
        position.side,
        repr(position.entry_price),
        model,
        version,
    )


def decide(
    position: OpenPosition, score: float, model: str, version: str, threshold: float
) -> Exit | None:
    """An :class:`Exit` when ``score`` reaches ``threshold``; None otherwise."""
    if score < threshold:
        return None
    return Exit(close_signal_id(position, model, version), position, score, model, version)
