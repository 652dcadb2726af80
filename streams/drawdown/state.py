"""Per-account breaker state and the thresholds it is judged by.

The state is immutable: :func:`streams.drawdown.breaker.observe` returns a new one, so the
table binding stores exactly what a step produced and a redelivered event can be compared
against the state it already changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from schemas.enums import BreachRule, ProfileName
from streams.policy import PolicyVersion

RULES: tuple[BreachRule, ...] = (BreachRule.MAX_DRAWDOWN, BreachRule.DAILY_LOSS)
"""Checked in this order; when both trip on one event, the trigger names the first."""

_NO_BREACHES: Mapping[BreachRule, int] = MappingProxyType(dict.fromkeys(RULES, 0))


@dataclass(frozen=True)
class Thresholds:
    """The limits of the active policy at the moment of an event (SPEC §3)."""

    max_drawdown: float
    max_daily_loss: float
    warn_fraction: float
    breach_confirmations: int
    profile: ProfileName
    version: int
    hash: str

    @classmethod
    def of(cls, policy: PolicyVersion) -> Thresholds:
        values = policy.values
        return cls(
            max_drawdown=values.max_drawdown,
            max_daily_loss=values.max_daily_loss,
            warn_fraction=values.warn_fraction,
            breach_confirmations=values.breach_confirmations,
            profile=policy.profile,
            version=policy.version,
            hash=policy.hash,
        )

    def limit(self, rule: BreachRule) -> float:
        return self.max_drawdown if rule is BreachRule.MAX_DRAWDOWN else self.max_daily_loss


@dataclass(frozen=True)
class AccountState:
    """Everything the breaker knows about one account.

    ``sequence`` is the venue sequence of the last ``account.updated`` applied (0: none):
    an update at or below it is a duplicate, a replay or a stale resend and changes
    nothing — deduplication is this high-water mark, not a list of event ids, so the state
    stays the same size however many events an account has. ``positions`` maps each open
    position's symbol to its unrealized PnL, as of that update. ``episode`` is the current
    breach episode, starting at 1; ``latched`` says whether it has tripped. ``day`` is the
    UTC day number (epoch ms // 86 400 000). ``last_equity_at`` is the venue time of the
    last update (capped at the worker's clock), which staleness is judged from.
    ``reset_offset`` is the Kafka offset of the last operator reset read (-1: none): the
    resets' own high-water mark.
    """

    account_id: str
    sequence: int = 0
    wallet_balance: float | None = None
    positions: Mapping[str, float] = field(default_factory=dict)
    equity: float | None = None
    peak_equity: float | None = None
    day: int | None = None
    day_start_equity: float | None = None
    episode: int = 1
    latched: bool = False
    breaches: Mapping[BreachRule, int] = field(default_factory=lambda: _NO_BREACHES)
    warned: frozenset[BreachRule] = frozenset()
    last_equity_at: int | None = None
    reset_offset: int = -1

    @property
    def latched_episode(self) -> int:
        """The tripped episode, or 0 when the account is not latched."""
        return self.episode if self.latched else 0


def no_breaches() -> Mapping[BreachRule, int]:
    return _NO_BREACHES


def drawdown(state: AccountState) -> float:
    """(peak - equity) / peak, unclamped; 0 while the peak is unknown or not positive.

    An account that never had positive equity has no high-water mark to fall from (and
    nothing can be sized from it: order sizes are fractions of equity), so the rule cannot
    divide by zero or flip sign on a negative peak.
    """
    peak, equity = state.peak_equity, state.equity
    if peak is None or equity is None or peak <= 0:
        return 0.0
    return (peak - equity) / peak


def daily_loss(state: AccountState) -> float:
    """(day start - equity) / day start, unclamped; 0 while day start is unknown or <= 0."""
    start, equity = state.day_start_equity, state.equity
    if start is None or equity is None or start <= 0:
        return 0.0
    return (start - equity) / start


def clamp_fraction(value: float) -> float:
    """``value`` within [0, 1], as the Avro schemas require of a reported fraction."""
    return min(1.0, max(0.0, value))
