"""Exponential backoff per failure episode, as a pure state machine (SPEC §7).

Schedule: 1, 2, 4, 8, 16 s, each stretched by up to 10 % jitter (delay x (1 + 0.1 u), u
from the injected random source in [0, 1)), so restarts of many subsystems after one
outage spread out instead of stampeding, and a delay is never shorter than its base. At
most 5 attempts per episode (31 s of base delay, under 35 s with jitter); then the
subsystem is EXHAUSTED and stays so — no new attempt, no counter reset — until a success
is reported. Only a success ends an episode; the next failure opens episode + 1 with the
attempt counter at 0. ``total_attempts`` is never reset (it feeds a Prometheus counter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from schemas.enums import RecoveryOutcome
from services.supervisor.exceptions import BackoffConfigError, RandomSourceError


class RandomSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1), like :class:`random.Random`."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class BackoffPolicy:
    """Base delays in seconds (one per attempt) and the jitter fraction."""

    delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    jitter: float = 0.10

    def __post_init__(self) -> None:
        if not self.delays or not all(math.isfinite(d) and d > 0 for d in self.delays):
            raise BackoffConfigError("delays", self.delays, "one or more finite numbers > 0")
        if not (math.isfinite(self.jitter) and 0 <= self.jitter <= 1):
            raise BackoffConfigError("jitter", self.jitter, "a fraction in [0, 1]")

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    def delay(self, attempt: int, source: RandomSource) -> float:
        """Seconds to wait before ``attempt`` (1-based), jitter included."""
        draw = source.random()
        if not (math.isfinite(draw) and 0 <= draw < 1):
            raise RandomSourceError(draw)
        return self.delays[attempt - 1] * (1 + self.jitter * draw)


DEFAULT_POLICY = BackoffPolicy()


class Phase(StrEnum):
    HEALTHY = "HEALTHY"
    RECOVERING = "RECOVERING"
    EXHAUSTED = "EXHAUSTED"


@dataclass(frozen=True)
class Supervision:
    """One subsystem's recovery state. ``episode`` counts failure episodes (the current one
    while not HEALTHY); ``attempts`` are the current episode's."""

    subsystem: str
    phase: Phase = Phase.HEALTHY
    episode: int = 0
    attempts: int = 0
    total_attempts: int = 0


@dataclass(frozen=True)
class Retry:
    """Restart ``subsystem`` at ``due_at`` (epoch ms), attempt ``attempt`` of the episode."""

    subsystem: str
    episode: int
    attempt: int
    delay_seconds: float
    due_at: int

    @property
    def outcomes(self) -> tuple[RecoveryOutcome, ...]:
        """The ``system.recovery`` records this step produces, in order."""
        first = self.attempt == 1
        lead = RecoveryOutcome.FAILURE_DETECTED if first else RecoveryOutcome.ATTEMPT_FAILED
        return lead, RecoveryOutcome.ATTEMPT_SCHEDULED


@dataclass(frozen=True)
class Exhausted:
    """No attempt left. ``newly`` is True only on the failure that exhausted the episode,
    so EXHAUSTED (and the escalation to the emergency stop) is reported exactly once."""

    subsystem: str
    episode: int
    attempts: int
    newly: bool

    @property
    def outcomes(self) -> tuple[RecoveryOutcome, ...]:
        if not self.newly:
            return ()
        return RecoveryOutcome.ATTEMPT_FAILED, RecoveryOutcome.EXHAUSTED


def on_failure(
    state: Supervision,
    now: int,
    source: RandomSource,
    policy: BackoffPolicy = DEFAULT_POLICY,
) -> tuple[Supervision, Retry | Exhausted]:
    """A failure was seen at ``now`` (epoch ms): the first of an episode, or a failed
    attempt. Returns the next attempt to schedule, or :class:`Exhausted`."""
    if state.phase is Phase.EXHAUSTED:
        return state, Exhausted(state.subsystem, state.episode, state.attempts, newly=False)
    if state.phase is Phase.HEALTHY:
        state = replace(state, phase=Phase.RECOVERING, episode=state.episode + 1, attempts=0)
    if state.attempts >= policy.max_attempts:
        exhausted = replace(state, phase=Phase.EXHAUSTED)
        return exhausted, Exhausted(state.subsystem, state.episode, state.attempts, newly=True)
    attempt = state.attempts + 1
    delay = policy.delay(attempt, source)
    scheduled = replace(state, attempts=attempt, total_attempts=state.total_attempts + 1)
    due_at = now + round(delay * 1000)
    return scheduled, Retry(state.subsystem, state.episode, attempt, delay, due_at)


def on_success(state: Supervision) -> Supervision:
    """The subsystem is healthy again: the episode ends and its attempt counter with it.
    A success while HEALTHY changes nothing."""
    if state.phase is Phase.HEALTHY:
        return state
    return replace(state, phase=Phase.HEALTHY, attempts=0)
