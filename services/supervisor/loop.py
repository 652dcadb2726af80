"""The supervising loop: probes in, episode steps, recovery actions and journal out.

Every ``tick`` (100 ms) each subsystem's latest health goes through the pure episode core
(:mod:`services.supervisor.episode`); what a step asks for is done here: an attempt's
action runs in a thread of its own (a stack part can take 10 s to find its port taken),
history lines, the new state and an escalation go to the journal as one entry, metrics
follow the lines. Nothing here waits on Kafka or on a slow server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

from schemas.enums import EssState, RecoveryAction, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from services.supervisor.actions import Restarter
from services.supervisor.backoff import RandomSource
from services.supervisor.episode import (
    Context,
    Episode,
    Line,
    Rules,
    Step,
    attempt_failed,
    observe_failure,
    observe_healthy,
    restart_observed,
    tick,
)
from services.supervisor.exceptions import EpisodeRulesError
from services.supervisor.journal import Entry, Journal
from services.supervisor.probes import Probe
from services.supervisor.records import escalation_command, line_record, state_record
from streams import metrics

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
"""The finest timing the loop keeps: an attempt starts within 100 ms of being due (10 %
of the shortest backoff, and the jitter spreads them by as much anyway)."""
_ATTEMPT_OUTCOMES = frozenset(
    {
        RecoveryOutcome.ATTEMPT_STARTED,
        RecoveryOutcome.ATTEMPT_SUCCEEDED,
        RecoveryOutcome.ATTEMPT_FAILED,
    }
)


@dataclass(frozen=True)
class Unit:
    """One supervised subsystem: its rules, its probe and how it is recovered (``action``
    None: the platform restarts it, and its restarts are observed)."""

    rules: Rules
    probe: Probe
    action: Restarter | None = None
    recovery: RecoveryAction | None = None
    """What the history says recovers it: the action's kind, PLATFORM, or None."""

    def __post_init__(self) -> None:
        if (self.action is None) == self.rules.schedules:
            allowed = "an action exactly when the supervisor schedules the attempts"
            raise EpisodeRulesError(self.rules.subsystem, "action", allowed)

    @property
    def name(self) -> str:
        return self.rules.subsystem


class _Running:
    """The loop's memory of one unit between ticks (not part of the durable state)."""

    def __init__(self) -> None:
        self.incarnation: str | None = None
        self.attempt: tuple[int, Future[None]] | None = None


class Supervisor:
    def __init__(  # noqa: PLR0913 - each collaborator is injected (clock and random too)
        self,
        units: Sequence[Unit],
        journal: Journal,
        states: Mapping[str, Episode],
        *,
        clock: Callable[[], int],
        random: RandomSource,
        escalation_state: Callable[[], EssState],
        say: Callable[[str], None] = log.info,
        actions: Executor | None = None,
    ) -> None:
        self.units = tuple(units)
        self.states = {u.name: states.get(u.name) or Episode(u.name) for u in self.units}
        self._journal, self._clock, self._random = journal, clock, random
        self._escalation_state, self._say = escalation_state, say
        self._running = {unit.name: _Running() for unit in self.units}
        self._actions = actions or ThreadPoolExecutor(
            max_workers=max(1, len(self.units)), thread_name_prefix="recovery"
        )
        for unit in self.units:
            metrics.RECOVERY_EPISODE_OPEN.labels(unit.name).set(self.states[unit.name].open)

    def run(self, stop: threading.Event, tick_seconds: float = TICK_SECONDS) -> None:
        """Supervise until ``stop`` is set or the journal was fenced by another supervisor."""
        while not stop.is_set():
            fenced = self._journal.fenced()
            if fenced is not None:
                raise fenced
            self.step()
            stop.wait(tick_seconds)

    def step(self) -> None:
        """One pass over every unit at the clock's time."""
        for unit in self.units:
            self._step_unit(unit)

    def close(self) -> None:
        self._actions.shutdown(wait=False, cancel_futures=True)

    # -- one unit ------------------------------------------------------------------------

    def _step_unit(self, unit: Unit) -> None:
        ctx = Context(self._clock(), self._random, self._escalation_state)
        state = self.states[unit.name]
        step = self._observe(unit, Step(state), ctx)
        step = step.then(lambda s: self._definite_failure(unit, s, ctx))
        blocked = self._blocked(unit, step.state, ctx.now)
        step = step.then(lambda s: tick(s, unit.rules, ctx, may_start=blocked is None))
        self.states[unit.name] = step.state
        if step.start_attempt is not None:
            self._start(unit, step.start_attempt)
        if step.lines or step.escalation:
            self._record(unit, step, ctx.now)
        metrics.RECOVERY_EPISODE_OPEN.labels(unit.name).set(step.state.open)

    def _observe(self, unit: Unit, step: Step, ctx: Context) -> Step:
        health = unit.probe.check()
        running = self._running[unit.name]
        seen, running.incarnation = running.incarnation, health.incarnation or running.incarnation
        if unit.action is None and seen is not None and running.incarnation != seen:
            # First the restart (an attempt), then what the new process looks like.
            step = step.then(lambda s: restart_observed(s, unit.rules, ctx))
        if health.ok is True:
            return step.then(lambda s: observe_healthy(s, ctx, health.as_of))
        if health.ok is False:
            error = health.detail or "failing"
            return step.then(lambda s: observe_failure(s, unit.rules, ctx, error))
        return step

    def _definite_failure(self, unit: Unit, state: Episode, ctx: Context) -> Step:
        """The attempt in progress failed for certain: its action raised, or its process
        exited. (An attempt the probe found healthy was judged before this.)"""
        running = self._running[unit.name]
        if unit.action is None or state.phase is not Phase.ATTEMPTING:
            return Step(state)
        error: str | None = None
        if running.attempt is not None and running.attempt[0] == state.attempt:
            future = running.attempt[1]
            if future.done() and future.exception() is not None:
                error = str(future.exception())
        error = error or unit.action.failed()
        if error is None:
            return Step(state)
        return attempt_failed(state, unit.rules, ctx, state.attempt, error)

    def _blocked(self, unit: Unit, state: Episode, now: int) -> str | None:
        due = state.phase is Phase.WAITING and state.due_at is not None and now >= state.due_at
        if not due or unit.action is None:
            return None
        previous = self._running[unit.name].attempt
        if previous is not None and not previous[1].done():
            blocked: str | None = f"the action of attempt {previous[0]} is still running"
        else:
            blocked = unit.action.blocked()
        if blocked:
            log.debug("%s: attempt %d waits: %s", unit.name, state.attempt + 1, blocked)
        return blocked

    def _start(self, unit: Unit, attempt: int) -> None:
        if unit.action is not None:
            future = self._actions.submit(unit.action.restart)
            self._running[unit.name].attempt = (attempt, future)

    def _record(self, unit: Unit, step: Step, now: int) -> None:
        state = step.state
        lines = [
            line_record(
                line,
                critical=unit.rules.critical,
                action=unit.recovery,
                opened_at=state.opened_at,
            )
            for line in step.lines
        ]
        escalation = None
        if step.escalation is not None:
            escalation = escalation_command(step.escalation, now)
        self._journal.append(
            Entry(
                unit.name,
                lines,
                state_record(state, critical=unit.rules.critical, now=now),
                escalation,
            )
        )
        for line in step.lines:
            self._count(line)
            self._say(describe(line))

    @staticmethod
    def _count(line: Line) -> None:
        if line.outcome in _ATTEMPT_OUTCOMES:
            metrics.RECOVERY_ATTEMPTS.labels(line.subsystem, line.outcome.value).inc()
        elif line.outcome is RecoveryOutcome.EXHAUSTED:
            metrics.RECOVERY_EXHAUSTED.labels(line.subsystem).inc()


def describe(line: Line) -> str:
    """One history line as an operator reads it in a log."""
    parts = [f"{line.subsystem}: episode {line.episode}", line.outcome.value]
    if line.attempt:
        parts.append(f"attempt {line.attempt}")
    if line.delay_ms:
        parts.append(f"delay {line.delay_ms / 1000:.3f} s")
    if line.escalated_to is not None:
        parts.append(f"-> {line.escalated_to.value}")
    if line.error:
        parts.append(f"({line.error})")
    return " ".join(parts)
