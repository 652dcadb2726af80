"""Why an accepted command changed nothing: the words of its ``ess.unchanged`` answer.

Every ``ess.command`` is answered: a change on ``ess.transition``, a refusal (stale version,
missing who or why, a DISABLE not allowed) on ``ess.command.dlq``, and a command that
changes nothing here — TRIP of a TRIPPED scope, REDUCE of a REDUCING or TRIPPED one, RESET
of an ARMED or COOLING_DOWN one, a command already applied. Before these answers such a
command sat unanswered and ``hfos ess`` waited 30 s for a worker that was healthy.

Tightening commands are "at least this restrictive": a REDUCE of a TRIPPED scope leaves
it TRIPPED (it refuses more; exits still pass), so it is answered as unchanged, not
refused — only a RESET leaves TRIPPED, and the answer says so.
"""

from __future__ import annotations

from schemas.enums import EssCommandKind, EssState, EssUnchangedReason
from schemas.values import iso_millis
from streams.ess.state import ScopeState, Transition


def why_unchanged(kind: EssCommandKind, transition: Transition) -> tuple[EssUnchangedReason, str]:
    """The typed reason and the operator's words for a command of ``kind`` whose
    ``transition`` changed nothing."""
    held = transition.current
    if transition.duplicate:
        return EssUnchangedReason.ALREADY_APPLIED, f"already applied; {_in_force(held)}"
    if kind is EssCommandKind.END_COOLDOWN:
        return EssUnchangedReason.COOLDOWN_NOT_DUE, f"no cooldown due; {_in_force(held)}"
    if kind is EssCommandKind.RESET:
        return EssUnchangedReason.NOTHING_TO_RESET, _nothing_to_reset(held)
    if kind is EssCommandKind.DISABLE:
        return EssUnchangedReason.ALREADY_DISABLED, f"already {_in_force(held)}"
    return EssUnchangedReason.AT_LEAST_AS_RESTRICTIVE, _restrictive(kind, held)


def _restrictive(kind: EssCommandKind, held: ScopeState) -> str:
    text = f"{_in_force(held)}, which refuses at least what {kind.value} asks for"
    if held.state is EssState.TRIPPED and kind is EssCommandKind.REDUCE:
        text += "; only a RESET leaves TRIPPED (then COOLING_DOWN)"
    return text


def _nothing_to_reset(held: ScopeState) -> str:
    if held.state is EssState.COOLING_DOWN and held.cooldown_until is not None:
        return (
            f"nothing to reset: {_in_force(held)}; trading is allowed under the defensive "
            f"profile and the scope is ARMED at {iso_millis(held.cooldown_until)} by itself "
            "(a RESET does not shorten a cooldown)"
        )
    return f"nothing to reset: {_in_force(held)}"


def _in_force(held: ScopeState) -> str:
    if held.version == 0:
        return f"{held.scope} is {held.state.value} (never changed)"
    return f"{held.scope} is {held.state.value} (v{held.version} since {iso_millis(held.since)})"
