"""Errors of the strategy and executor core. A refused signal is a ``Reject`` decision, not
an exception; these are for inputs that are not signals at all."""

from __future__ import annotations

from schemas.errors import HfosError


class StrategyError(HfosError):
    """Base of every strategy/executor error."""


class InvalidSignalError(StrategyError):
    """A signal carries a value no decision can be made from (NaN confidence, size <= 0);
    it belongs in the dead-letter topic, not in ``order.rejected``."""

    def __init__(self, signal_id: str, field: str, value: object, allowed: str) -> None:
        super().__init__(f"signal {signal_id}: {field}={value!r} refused: allowed {allowed}")
        self.signal_id = signal_id
        self.field = field
        self.value = value
        self.allowed = allowed
