"""Errors of the supervisor's pure backoff core."""

from __future__ import annotations

from schemas.errors import HfosError


class SupervisorError(HfosError):
    """Base of every supervisor error."""


class BackoffConfigError(SupervisorError):
    """A backoff setting outside its range; ``field`` names it."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"backoff {field}={value!r} refused: allowed {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class RandomSourceError(SupervisorError):
    """The injected random source returned a value outside [0, 1)."""

    def __init__(self, value: float) -> None:
        super().__init__(f"random source returned {value!r}, expected a float in [0, 1)")
        self.value = value


class EpisodeRulesError(SupervisorError):
    """A subsystem's supervision rule outside its range; ``field`` names it."""

    def __init__(self, subsystem: str, field: str, allowed: str) -> None:
        super().__init__(f"supervision of {subsystem!r}: {field} refused: allowed {allowed}")
        self.subsystem = subsystem
        self.field = field
        self.allowed = allowed
