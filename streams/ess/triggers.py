"""System triggers and the cooldown timer, applied to one scope's state.

System triggers only tighten (SPEC §4: "the ESS does not loosen anything"): a trigger asking
for REDUCING on a TRIPPED scope is a no-op. The only timer is the cooldown; no timer leaves
TRIPPED or REDUCING. The timer does not write the state itself: it sends END_COOLDOWN to
the ESS's command topic, and :func:`end_cooldown` applies it there like any command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from schemas.enums import EssState, EssTrigger
from streams.ess.exceptions import TriggerError
from streams.ess.state import ScopeState, Transition, at_least, moved, remember

DEFAULT_TARGETS: Mapping[EssTrigger, EssState] = MappingProxyType(
    {
        EssTrigger.CIRCUIT_BREAKER: EssState.TRIPPED,
        EssTrigger.FLASH_CRASH: EssState.TRIPPED,
        EssTrigger.SUPERVISOR_ESCALATION: EssState.TRIPPED,
        EssTrigger.STALE_DATA: EssState.REDUCING,
        EssTrigger.DAILY_LOSS: EssState.REDUCING,
        EssTrigger.EXECUTION_ERRORS: EssState.REDUCING,
    }
)
"""Where each system trigger leads unless the caller names a target (flash crash and
supervisor escalation may ask for REDUCING instead, per policy: SPEC §6, §7)."""

_TARGETS = frozenset({EssState.REDUCING, EssState.TRIPPED})


def apply_trigger(
    current: ScopeState,
    trigger: EssTrigger,
    cause_event_id: str,
    now: int,
    *,
    target: EssState | None = None,
    by: str = "ess",
    reason: str = "",
) -> Transition:
    """The transition a system ``trigger`` causes at ``now`` (epoch ms).

    ``cause_event_id`` (the breach, escalation or error event) is required and remembered,
    so a redelivered cause has no second effect even after an operator reset.
    """
    wanted = _target(trigger, target)
    if not cause_event_id.strip():
        raise TriggerError(trigger, "cause_event_id is required")
    why = reason or f"{trigger.value} asks for {wanted.value}"
    if cause_event_id in current.recent:
        return Transition(current, current, None, by, why, cause_event_id, duplicate=True)
    remembered = remember(current, cause_event_id)
    if at_least(current.state, wanted):
        return Transition(current, remembered, None, by, why, cause_event_id)
    after = remember(moved(current, wanted, trigger, now), cause_event_id)
    return Transition(current, after, trigger, by, why, cause_event_id)


def tick(current: ScopeState, now: int) -> Transition:
    """COOLING_DOWN becomes ARMED once ``now`` reaches ``cooldown_until``; nothing else moves."""
    until = current.cooldown_until
    if current.state is not EssState.COOLING_DOWN or until is None or now < until:
        return Transition(current, current, None, "ess", "no timer due", None)
    after = moved(current, EssState.ARMED, EssTrigger.COOLDOWN_ELAPSED, now)
    return Transition(current, after, EssTrigger.COOLDOWN_ELAPSED, "ess", "cooldown elapsed", None)


def end_cooldown(
    current: ScopeState, command_id: str, expected_version: int | None, now: int
) -> Transition:
    """The timer's END_COOLDOWN for the cooldown it saw at ``expected_version``.

    The scope is ARMED only when it is still in that very cooldown and the cooldown has
    elapsed at ``now``; a scope that an operator or a trigger moved since (a new version),
    or a command that came early, is left as it is. ``command_id`` is remembered, so a
    redelivered command is recognised after the scope moved on.
    """
    if command_id in current.recent:
        return Transition(current, current, None, "ess", "seen before", command_id, duplicate=True)
    due = tick(current, now)
    if expected_version != current.version or not due.changed:
        return Transition(current, current, None, "ess", "no cooldown due", command_id)
    return replace(due, current=remember(due.current, command_id), cause_event_id=command_id)


def _target(trigger: EssTrigger, target: EssState | None) -> EssState:
    default = DEFAULT_TARGETS.get(trigger)
    if default is None:
        raise TriggerError(trigger, "not a system trigger (use an ess.command)")
    if target is not None and target not in _TARGETS:
        raise TriggerError(trigger, f"target {target} is not REDUCING or TRIPPED")
    return target or default
