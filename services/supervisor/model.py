"""The episode core's data: a subsystem's rules, its state, the history lines, the
escalation and what one step returns (:mod:`services.supervisor.episode` moves them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schemas.enums import EssState, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from services.supervisor.backoff import DEFAULT_POLICY, BackoffPolicy, RandomSource
from services.supervisor.exceptions import EpisodeRulesError

DEFAULT_STABLE_MS = 60_000
"""SPEC §7 leaves it open; 60 s outlasts a worker's restart-and-rebalance (~10 s here) many
times over, so a part that only looks healthy between crashes does not end its episode."""


@dataclass(frozen=True)
class Rules:
    """How one subsystem is supervised: the core's part of its configuration."""

    subsystem: str
    critical: bool = False
    schedules: bool = True
    """True: the supervisor starts each attempt (a child process, a stack part). False:
    the platform restarts the process and the supervisor counts the restarts it sees."""
    attempt_timeout_ms: int = 30_000
    """An attempt that has not brought the subsystem back within this long has failed."""
    escalate_after_ms: int | None = None
    """Critical only: escalate once the subsystem has been failing this long, even with
    attempts left. None: only exhaustion escalates."""
    stable_ms: int = DEFAULT_STABLE_MS
    backoff: BackoffPolicy = DEFAULT_POLICY

    def __post_init__(self) -> None:
        if not self.subsystem.strip():
            raise EpisodeRulesError(self.subsystem, "subsystem", "a non-blank name")
        for name in ("attempt_timeout_ms", "stable_ms", "escalate_after_ms"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise EpisodeRulesError(self.subsystem, name, "a duration > 0 ms")

    @property
    def max_attempts(self) -> int:
        return self.backoff.max_attempts


@dataclass(frozen=True)
class Episode:
    """A subsystem's supervision state; it is also what ``system.recovery.state`` holds.

    ``attempt`` counts the attempts *started* in the current episode; while WAITING, the
    next one (``attempt + 1``) is due at ``due_at`` (None: waiting for the platform).
    ``sequence`` counts the history lines written so far, so every line has its own.
    """

    subsystem: str
    phase: Phase = Phase.HEALTHY
    episode: int = 0
    attempt: int = 0
    total_attempts: int = 0
    sequence: int = 0
    opened_at: int | None = None
    failing_since: int | None = None
    due_at: int | None = None
    delay_ms: int = 0
    started_at: int | None = None
    healthy_since: int | None = None
    exhausted: bool = False
    escalated: bool = False
    error: str | None = None

    @property
    def open(self) -> bool:
        return self.phase is not Phase.HEALTHY


@dataclass(frozen=True)
class Line:
    """One line of the recovery history, numbered ``sequence`` for its subsystem."""

    subsystem: str
    episode: int
    sequence: int
    outcome: RecoveryOutcome
    attempt: int
    at: int
    delay_ms: int = 0
    error: str | None = None
    escalated_to: EssState | None = None


@dataclass(frozen=True)
class Escalation:
    """Ask the emergency stop for ``target`` on the global scope, once for this episode
    (``opened_at`` with the episode number identifies it across supervisor restarts)."""

    subsystem: str
    episode: int
    opened_at: int
    target: EssState
    reason: str


@dataclass(frozen=True)
class Step:
    """What one input did: the new state, its history lines, and what the edge does."""

    state: Episode
    lines: tuple[Line, ...] = ()
    start_attempt: int | None = None
    """Start this attempt now (the edge runs the recovery action)."""
    escalation: Escalation | None = None

    def then(self, more: Callable[[Episode], Step]) -> Step:
        after = more(self.state)
        return Step(
            after.state,
            self.lines + after.lines,
            after.start_attempt or self.start_attempt,
            after.escalation or self.escalation,
        )


def _reducing() -> EssState:
    return EssState.REDUCING


@dataclass(frozen=True)
class Context:
    """The time of an input and what a step may need: the jitter's random source, and the
    state the active policy names for an escalation (asked only when escalating: the
    edge reads it from the policy store)."""

    now: int
    random: RandomSource
    escalation_state: Callable[[], EssState] = _reducing
