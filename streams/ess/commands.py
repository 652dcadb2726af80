"""Operator and system commands (``ess.command``) applied to one scope's state.

| command | from | to |
|---|---|---|
| TRIP | any but TRIPPED | TRIPPED |
| REDUCE | DISABLED, ARMED, COOLING_DOWN | REDUCING (never loosens TRIPPED) |
| RESET | TRIPPED, REDUCING | COOLING_DOWN until now + cooldown |
| RESET | DISABLED | ARMED (switching the stop back on) |
| DISABLE | ARMED | DISABLED; refused in production and from any other state |
| END_COOLDOWN | COOLING_DOWN at ``expected_version``, elapsed | ARMED (the ESS's own timer) |

Anything else is a no-op. RESET, DISABLE and END_COOLDOWN loosen, so they must carry
``expected_version``; TRIP and REDUCE only tighten and may omit it (SPEC §4, the
``ess.command`` schema). An END_COOLDOWN that names another version is not refused but
ignored: the scope moved on (an operator tripped it during the cooldown) after the timer
asked. Every accepted command's id is remembered, so a redelivered command
is recognised even after the state moved on.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.enums import EssCommandKind, EssState, EssTrigger
from streams.ess.exceptions import (
    CommandRefusedError,
    IncompleteCommandError,
    ScopeError,
    StaleCommandError,
)
from streams.ess.scope import Scope
from streams.ess.state import ScopeState, Transition, at_least, moved, remember
from streams.ess.triggers import end_cooldown

_LOOSENING = frozenset({EssCommandKind.RESET, EssCommandKind.DISABLE, EssCommandKind.END_COOLDOWN})
_TIGHTENING = {EssCommandKind.TRIP: EssState.TRIPPED, EssCommandKind.REDUCE: EssState.REDUCING}


@dataclass(frozen=True)
class EssCommand:
    """One ``ess.command``; ``trigger`` is MANUAL for an operator."""

    command_id: str
    scope: Scope
    kind: EssCommandKind
    by: str
    reason: str
    expected_version: int | None = None
    trigger: EssTrigger = EssTrigger.MANUAL
    cause_event_id: str | None = None


def apply_command(
    current: ScopeState,
    command: EssCommand,
    now: int,
    cooldown_seconds: int,
    *,
    production: bool = False,
) -> Transition:
    """The transition ``command`` causes at ``now`` (epoch ms), or a typed refusal:
    :class:`IncompleteCommandError`, :class:`StaleCommandError`, :class:`CommandRefusedError`.
    A refused command changes nothing; see :func:`remember_refused`. The transition's
    ``cause_event_id`` is the command's own ``cause_event_id``, else its ``command_id``."""
    if command.scope != current.scope:
        raise ScopeError(str(command.scope), f"command applied to the state of {current.scope}")
    if command.command_id in current.recent:
        return _unchanged(current, command, duplicate=True)
    _check_complete(command)
    if command.kind is EssCommandKind.END_COOLDOWN:
        return end_cooldown(current, command.command_id, command.expected_version, now)
    if command.expected_version is not None and command.expected_version != current.version:
        raise StaleCommandError(str(current.scope), command.expected_version, current.version)
    target = _target(current, command, now, cooldown_seconds, production=production)
    if target is None:
        return _unchanged(remember(current, command.command_id), command, previous=current)
    return Transition(
        previous=current,
        current=remember(target, command.command_id),
        trigger=target.trigger,
        by=command.by,
        reason=command.reason,
        cause_event_id=command.cause_event_id or command.command_id,
    )


def remember_refused(current: ScopeState, command: EssCommand) -> ScopeState:
    """``current`` with a refused command's id remembered, for the binding to store after
    publishing the refusal. Versions only grow, so a command refused for being behind stays
    refused; one that named a version *ahead* of the current one could match later, and a
    redelivery must not turn an earlier refusal into an acceptance."""
    return remember(current, command.command_id)


def _check_complete(command: EssCommand) -> None:
    for field in ("command_id", "by", "reason"):
        if not str(getattr(command, field)).strip():
            raise IncompleteCommandError(command.command_id, field)
    if command.kind in _LOOSENING and command.expected_version is None:
        raise IncompleteCommandError(command.command_id, "expected_version")


def _target(
    current: ScopeState, command: EssCommand, now: int, cooldown_seconds: int, *, production: bool
) -> ScopeState | None:
    kind, state = command.kind, current.state
    if kind in _TIGHTENING:
        wanted = _TIGHTENING[kind]
        return None if at_least(state, wanted) else moved(current, wanted, command.trigger, now)
    if kind is EssCommandKind.RESET:
        return _reset(current, now, cooldown_seconds)
    return _disable(current, command, now, production=production)


def _reset(current: ScopeState, now: int, cooldown_seconds: int) -> ScopeState | None:
    if current.state in {EssState.TRIPPED, EssState.REDUCING}:
        until = now + cooldown_seconds * 1000
        return moved(current, EssState.COOLING_DOWN, EssTrigger.RESET, now, until)
    if current.state is EssState.DISABLED:
        return moved(current, EssState.ARMED, EssTrigger.RESET, now)
    return None


def _disable(
    current: ScopeState, command: EssCommand, now: int, *, production: bool
) -> ScopeState | None:
    if production:
        raise _refused(current, command, "the emergency stop cannot be disabled in production")
    if current.state is EssState.DISABLED:
        return None
    if current.state is not EssState.ARMED:
        raise _refused(current, command, "only an ARMED scope can be disabled; RESET it first")
    return moved(current, EssState.DISABLED, command.trigger, now)


def _refused(current: ScopeState, command: EssCommand, problem: str) -> CommandRefusedError:
    return CommandRefusedError(str(current.scope), command.kind, current.state, problem)


def _unchanged(
    current: ScopeState,
    command: EssCommand,
    *,
    duplicate: bool = False,
    previous: ScopeState | None = None,
) -> Transition:
    return Transition(
        previous=current if previous is None else previous,
        current=current,
        trigger=None,
        by=command.by,
        reason=command.reason,
        cause_event_id=command.cause_event_id or command.command_id,
        duplicate=duplicate,
    )
