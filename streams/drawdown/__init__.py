"""Drawdown circuit breaker core (SPEC §3): per-account equity, peaks, daily loss, breaches.

Pure: the Faust agent decodes ``account.updated`` and operator resets into :mod:`.events`,
calls :func:`observe` with the active policy's :class:`Thresholds`, stores the returned
state in its changelog-backed table and publishes the returned effects.
"""

from streams.drawdown.breaker import DAY_MS, check_stale, observe
from streams.drawdown.effects import (
    BreachTriggered,
    Effect,
    EpisodeReset,
    RiskWarning,
    breach_id,
    warning_id,
)
from streams.drawdown.events import AccountUpdate, DrawdownEvent, Reset, check_event
from streams.drawdown.exceptions import AccountMismatchError, DrawdownError, InvalidEventError
from streams.drawdown.state import RULES, AccountState, Thresholds, daily_loss, drawdown

__all__ = [
    "DAY_MS",
    "RULES",
    "AccountMismatchError",
    "AccountState",
    "AccountUpdate",
    "BreachTriggered",
    "DrawdownError",
    "DrawdownEvent",
    "Effect",
    "EpisodeReset",
    "InvalidEventError",
    "Reset",
    "RiskWarning",
    "Thresholds",
    "breach_id",
    "check_event",
    "check_stale",
    "daily_loss",
    "drawdown",
    "observe",
    "warning_id",
]
