"""What the breaker asks its binding to publish; ids are derived from the cause only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from schemas.enums import BreachRule, ProfileName
from schemas.ids import derived_id


@dataclass(frozen=True)
class BreachTriggered:
    """``risk.circuit_breaker.triggered``: exactly one per account and episode.

    ``drawdown`` and ``daily_loss`` are clamped to [0, 1] as the schema requires (a gain
    is a daily loss of 0; equity below zero is a drawdown of 1).
    """

    breach_id: str
    account_id: str
    rule: BreachRule
    episode: int
    drawdown: float
    daily_loss: float
    threshold: float
    equity: float
    peak_equity: float
    day_start_equity: float
    tipping_event_id: str
    policy_profile: ProfileName
    policy_version: int
    policy_hash: str

    @property
    def event_id(self) -> str:
        """Envelope id of the published event: a replay publishes the same id."""
        return derived_id("risk.circuit_breaker.triggered", self.breach_id)


@dataclass(frozen=True)
class RiskWarning:
    """``risk.warning``: one per account, rule and episode."""

    warning_id: str
    account_id: str
    rule: BreachRule
    episode: int
    value: float
    limit: float
    warn_fraction: float
    cause_event_id: str
    policy_profile: ProfileName
    policy_version: int
    policy_hash: str

    @property
    def event_id(self) -> str:
        return derived_id("risk.warning", self.warning_id)


@dataclass(frozen=True)
class EpisodeReset:
    """An operator reset ended ``episode``; ``rebased_peak`` is the new peak, if rebased."""

    account_id: str
    episode: int
    by: str
    reason: str
    rebased_peak: float | None
    cause_event_id: str


Effect: TypeAlias = BreachTriggered | RiskWarning | EpisodeReset


def breach_id(account_id: str, rule: BreachRule, episode: int) -> str:
    """``"<account>:<rule>:<episode>"``: the same breach always has the same id."""
    return f"{account_id}:{rule.value}:{episode}"


def warning_id(account_id: str, rule: BreachRule, episode: int) -> str:
    return f"{account_id}:{rule.value}:{episode}:warning"
