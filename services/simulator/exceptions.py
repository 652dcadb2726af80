"""Errors of the market simulator's settings (each names the bad part and what is allowed)."""

from __future__ import annotations

from schemas.errors import HfosError


class SimulatorError(HfosError):
    """Base of every simulator error."""


class InvalidGapError(SimulatorError):
    """A scripted gap (``TICK:SYMBOL:CHANGE``) that cannot be used; ``part`` names which."""

    def __init__(self, text: str, part: str, problem: str) -> None:
        super().__init__(
            f"gap {text!r}: {part}: {problem} (expected TICK:SYMBOL:CHANGE, e.g. 50:BTCUSDT:-0.12)"
        )
        self.text = text
        self.part = part
        self.problem = problem


class SimulatorConfigError(SimulatorError):
    """A simulator setting outside its range; ``field`` names it."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"simulator {field}={value!r} refused: allowed {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed
