"""One subsystem's failure episodes as a pure state machine (SPEC §7).

A failure seen while HEALTHY opens episode ``n + 1``; the episode number only grows.
Within an episode the supervisor schedules attempts on the backoff schedule (1, 2, 4, 8,
16 s with up to 10 % jitter) — or, where the platform restarts the process itself
(Kubernetes), counts the restarts it observes — at most ``max_attempts`` of them:

    HEALTHY --failure--> WAITING --due--> ATTEMPTING --healthy--> STABILIZING --stable--> HEALTHY
                            ^                 | window passed / definite failure   |
                            +-----------------+ (attempts left)                    | failure
                            EXHAUSTED <-------+ (none left)         <--------------+

An episode ends only after the subsystem stayed healthy for ``stable_ms`` (default 60 s):
a subsystem that comes back and fails again within it stays in the same episode, and its
next attempt continues the count, so a flapping part cannot earn fresh attempts. Nothing
resets a counter silently: EXHAUSTED stays until the subsystem is healthy for the stable
period (an operator fixed it), and only then may a new episode — with a new number —
start.

A critical subsystem escalates to the emergency stop exactly once per episode: when it
exhausts its attempts, or when it has been failing for ``escalate_after_ms``, whichever
comes first. Every step returns the history lines it makes (``system.recovery``) and what
the edge must do (start an attempt, send the escalation). Time is epoch ms, passed in;
the random source for the jitter is injected.
"""

from __future__ import annotations

from dataclasses import replace

from schemas.enums import EssState, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from services.supervisor.model import (
    DEFAULT_STABLE_MS,
    Context,
    Episode,
    Escalation,
    Line,
    Rules,
    Step,
)

__all__ = [
    "DEFAULT_STABLE_MS",
    "Context",
    "Episode",
    "Escalation",
    "Line",
    "Rules",
    "Step",
    "attempt_failed",
    "observe_failure",
    "observe_healthy",
    "restart_observed",
    "tick",
]


# -- inputs -------------------------------------------------------------------------------


def observe_healthy(state: Episode, ctx: Context, as_of: int | None = None) -> Step:
    """A probe found the subsystem healthy, on evidence from ``as_of`` (epoch ms; None:
    now). Evidence older than what it would judge — a heartbeat the process beat before
    the attempt restarted it, or before it failed — judges nothing."""
    needed = state.started_at if state.phase is Phase.ATTEMPTING else state.failing_since
    if as_of is not None and needed is not None and as_of < needed:
        return Step(state)
    if state.phase is Phase.ATTEMPTING:
        back = _stabilizing(state, ctx.now)
        return _line(back, RecoveryOutcome.ATTEMPT_SUCCEEDED, ctx.now)
    if state.phase in {Phase.WAITING, Phase.EXHAUSTED}:
        # Back before the scheduled attempt (it is not made), or after the attempts ran
        # out (an operator fixed it): the episode still needs its stable period.
        return _line(_stabilizing(state, ctx.now), RecoveryOutcome.HEALTHY_AGAIN, ctx.now)
    return Step(state)


def observe_failure(state: Episode, rules: Rules, ctx: Context, error: str) -> Step:
    """A probe found the subsystem failing (``error`` says how)."""
    if state.phase is Phase.HEALTHY:
        opened = replace(
            state,
            phase=Phase.WAITING,
            episode=state.episode + 1,
            attempt=0,
            opened_at=ctx.now,
            failing_since=ctx.now,
            healthy_since=None,
            exhausted=False,
            escalated=False,
            error=error,
        )
        detected = _line(opened, RecoveryOutcome.FAILURE_DETECTED, ctx.now, error=error)
        return detected.then(lambda s: _next_attempt(s, rules, ctx))
    if state.phase is Phase.STABILIZING:
        relapsed = replace(
            state, phase=Phase.WAITING, failing_since=ctx.now, healthy_since=None, error=error
        )
        detected = _line(relapsed, RecoveryOutcome.FAILURE_DETECTED, ctx.now, error=error)
        if state.exhausted:
            return detected.then(lambda s: Step(replace(s, phase=Phase.EXHAUSTED)))
        return detected.then(lambda s: _next_attempt(s, rules, ctx))
    return Step(replace(state, error=error))


def tick(state: Episode, rules: Rules, ctx: Context, *, may_start: bool = True) -> Step:
    """Let time pass: start a due attempt (unless ``may_start`` is False: the action
    cannot act yet, e.g. the process is still alive), fail an attempt whose window passed,
    end an episode that stayed healthy for the stable period; then escalate a critical
    subsystem that has been failing past its bound."""
    timed = _timer(state, rules, ctx, may_start=may_start)
    return timed.then(lambda s: _escalate_if_silent(s, rules, ctx))


def _timer(state: Episode, rules: Rules, ctx: Context, *, may_start: bool) -> Step:
    now, phase = ctx.now, state.phase
    if phase is Phase.WAITING and may_start and _reached(now, state.due_at):
        return _start(state, now, state.delay_ms)
    if phase is Phase.ATTEMPTING and _reached(now, state.started_at, rules.attempt_timeout_ms):
        why = f"not healthy within {rules.attempt_timeout_ms / 1000:g} s"
        return attempt_failed(state, rules, ctx, state.attempt, _joined(why, state.error))
    if phase is Phase.STABILIZING and _reached(now, state.healthy_since, rules.stable_ms):
        return _recovered(state, now)
    return Step(state)


def _reached(now: int, since: int | None, after_ms: int = 0) -> bool:
    return since is not None and now >= since + after_ms


def attempt_failed(state: Episode, rules: Rules, ctx: Context, attempt: int, error: str) -> Step:
    """Attempt ``attempt`` failed for certain (the action failed, the process exited)."""
    if state.phase is not Phase.ATTEMPTING or attempt != state.attempt:
        return Step(state)  # a late report of an attempt already judged
    failed = replace(state, phase=Phase.WAITING, started_at=None, error=error)
    lined = _line(failed, RecoveryOutcome.ATTEMPT_FAILED, ctx.now, error=error)
    return lined.then(lambda s: _next_attempt(s, rules, ctx))


def restart_observed(state: Episode, rules: Rules, ctx: Context) -> Step:
    """The platform started the process again (a new instance in its heartbeats): an
    attempt the supervisor did not make but counts. Only for ``rules.schedules=False``."""
    if rules.schedules:
        return Step(state)
    if state.phase is Phase.ATTEMPTING:
        # Restarted again before the previous attempt was judged: that one failed.
        return attempt_failed(
            state, rules, ctx, state.attempt, "the platform restarted it again"
        ).then(lambda s: _observed_start(s, rules, ctx))
    return _observed_start(state, rules, ctx)


# -- steps ----------------------------------------------------------------------------------


def _observed_start(state: Episode, rules: Rules, ctx: Context) -> Step:
    if state.phase is not Phase.WAITING or state.attempt >= rules.max_attempts:
        return Step(state)
    since = state.failing_since if state.failing_since is not None else ctx.now
    return _start(state, ctx.now, max(0, ctx.now - since))


def _next_attempt(state: Episode, rules: Rules, ctx: Context) -> Step:
    """After a failure: schedule the next attempt, wait for the platform's, or run out."""
    if state.attempt >= rules.max_attempts:
        return _exhaust(state, rules, ctx)
    if not rules.schedules:
        return Step(replace(state, phase=Phase.WAITING, due_at=None, delay_ms=0))
    following = state.attempt + 1
    delay_ms = round(rules.backoff.delay(following, ctx.random) * 1000)
    waiting = replace(state, phase=Phase.WAITING, due_at=ctx.now + delay_ms, delay_ms=delay_ms)
    return _line(
        waiting,
        RecoveryOutcome.ATTEMPT_SCHEDULED,
        ctx.now,
        attempt=following,
        delay_ms=delay_ms,
    )


def _start(state: Episode, now: int, delay_ms: int) -> Step:
    started = replace(
        state,
        phase=Phase.ATTEMPTING,
        attempt=state.attempt + 1,
        total_attempts=state.total_attempts + 1,
        due_at=None,
        delay_ms=delay_ms,
        started_at=now,
    )
    lined = _line(started, RecoveryOutcome.ATTEMPT_STARTED, now, delay_ms=delay_ms)
    return Step(lined.state, lined.lines, start_attempt=started.attempt)


def _exhaust(state: Episode, rules: Rules, ctx: Context) -> Step:
    exhausted = replace(state, phase=Phase.EXHAUSTED, due_at=None, exhausted=True)
    lined = _line(exhausted, RecoveryOutcome.EXHAUSTED, ctx.now, error=state.error)
    why = f"{state.attempt} recovery attempts failed"
    return lined.then(lambda s: _escalate(s, rules, ctx, why))


def _escalate_if_silent(state: Episode, rules: Rules, ctx: Context) -> Step:
    bound = rules.escalate_after_ms
    failing = state.phase in {Phase.WAITING, Phase.ATTEMPTING, Phase.EXHAUSTED}
    if not failing or bound is None or state.failing_since is None:
        return Step(state)
    if ctx.now - state.failing_since < bound:
        return Step(state)
    return _escalate(state, rules, ctx, f"failing for more than {bound / 1000:g} s")


def _escalate(state: Episode, rules: Rules, ctx: Context, why: str) -> Step:
    if not rules.critical or state.escalated or state.opened_at is None:
        return Step(state)
    reason = _joined(f"{state.subsystem}: {why} in episode {state.episode}", state.error)
    target = ctx.escalation_state()
    escalated = replace(state, escalated=True)
    lined = _line(escalated, RecoveryOutcome.ESCALATED, ctx.now, error=reason, escalated_to=target)
    escalation = Escalation(state.subsystem, state.episode, state.opened_at, target, reason)
    return Step(lined.state, lined.lines, escalation=escalation)


def _stabilizing(state: Episode, now: int) -> Episode:
    return replace(
        state,
        phase=Phase.STABILIZING,
        due_at=None,
        started_at=None,
        failing_since=None,
        healthy_since=now,
    )


def _recovered(state: Episode, now: int) -> Step:
    healthy = replace(
        state,
        phase=Phase.HEALTHY,
        attempt=0,
        opened_at=None,
        failing_since=None,
        due_at=None,
        delay_ms=0,
        started_at=None,
        healthy_since=None,
        error=None,
    )
    # The line names the attempts the episode took; the state's count is cleared with it.
    return _line(healthy, RecoveryOutcome.RECOVERED, now, attempt=state.attempt)


def _line(
    state: Episode,
    outcome: RecoveryOutcome,
    now: int,
    *,
    attempt: int | None = None,
    delay_ms: int = 0,
    error: str | None = None,
    escalated_to: EssState | None = None,
) -> Step:
    numbered = replace(state, sequence=state.sequence + 1)
    line = Line(
        subsystem=state.subsystem,
        episode=state.episode,
        sequence=numbered.sequence,
        outcome=outcome,
        attempt=state.attempt if attempt is None else attempt,
        at=now,
        delay_ms=delay_ms,
        error=error,
        escalated_to=escalated_to,
    )
    return Step(numbered, (line,))


def _joined(why: str, error: str | None) -> str:
    return f"{why}: {error}" if error else why
