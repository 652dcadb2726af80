"""Errors of the drawdown breaker's pure core."""

from __future__ import annotations

from schemas.errors import HfosError


class DrawdownError(HfosError):
    """Base of every drawdown-breaker error."""


class AccountMismatchError(DrawdownError):
    """An event was routed to another account's state (a keying or partitioning bug)."""

    def __init__(self, expected: str, actual: str, event_id: str) -> None:
        super().__init__(
            f"event {event_id} is for account {actual!r} but was applied to {expected!r}; "
            "check that the topic is keyed by account id"
        )
        self.expected = expected
        self.actual = actual
        self.event_id = event_id


class InvalidEventError(DrawdownError):
    """An event carries a value the breaker cannot use (NaN, infinity, a negative time, a
    sequence below 1)."""

    def __init__(self, event_id: str, field: str, value: object) -> None:
        super().__init__(f"event {event_id}: {field}={value!r} is out of range")
        self.event_id = event_id
        self.field = field
        self.value = value
