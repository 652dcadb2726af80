"""ESS scope states to and from the table's JSON, and the ``ess.*`` records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.enums import EssCommandKind, EssState, EssTrigger
from schemas.envelope import envelope
from schemas.ids import derived_id
from streams.ess.answers import why_unchanged
from streams.ess.commands import EssCommand
from streams.ess.scope import Scope
from streams.ess.state import ScopeState, Transition


def state_to_json(state: ScopeState) -> dict[str, Any]:
    return {
        "scope": str(state.scope),
        "state": state.state.value,
        "version": state.version,
        "since": state.since,
        "trigger": state.trigger.value if state.trigger else None,
        "cooldown_until": state.cooldown_until,
        "recent": list(state.recent),
        "by": state.by,
        "reason": state.reason,
    }


def state_from_json(data: Mapping[str, Any]) -> ScopeState:
    trigger = data.get("trigger")
    return ScopeState(
        scope=Scope.parse(str(data["scope"])),
        state=EssState(data["state"]),
        version=int(data["version"]),
        since=int(data["since"]),
        trigger=EssTrigger(trigger) if trigger else None,
        cooldown_until=data.get("cooldown_until"),
        recent=tuple(data.get("recent", ())),
        by=data.get("by"),
        reason=data.get("reason"),
    )


def command_from_record(record: Mapping[str, Any]) -> EssCommand:
    return EssCommand(
        command_id=str(record["command_id"]),
        scope=Scope.parse(str(record["scope"])),
        kind=EssCommandKind(record["kind"]),
        by=str(record["by"]),
        reason=str(record["reason"]),
        expected_version=record.get("expected_version"),
        trigger=EssTrigger(record.get("trigger") or EssTrigger.MANUAL.value),
        cause_event_id=record.get("cause_event_id"),
    )


def state_record(state: ScopeState, producer: str, now: int) -> dict[str, Any]:
    """The compacted ``ess.state`` record of a scope."""
    return {
        "envelope": envelope(
            producer, now, event_id=derived_id("ess.state", str(state.scope), str(state.version))
        ),
        "scope": str(state.scope),
        "state": state.state.value,
        "version": state.version,
        "since": state.since,
        "trigger": (state.trigger or EssTrigger.MANUAL).value,
        "cooldown_until": state.cooldown_until,
        "by": state.by,
        "reason": state.reason,
    }


def transition_record(transition: Transition, producer: str, now: int) -> dict[str, Any]:
    """The ``ess.transition`` audit record of a changed transition."""
    after = transition.current
    return {
        "envelope": envelope(
            producer,
            now,
            event_id=derived_id("ess.transition", str(after.scope), str(after.version)),
            causation_id=transition.cause_event_id,
        ),
        "scope": str(after.scope),
        "previous": transition.previous.state.value,
        "state": after.state.value,
        "version": after.version,
        "trigger": (transition.trigger or EssTrigger.MANUAL).value,
        "by": transition.by,
        "reason": transition.reason or "-",
        "cause_event_id": transition.cause_event_id,
        "policy_hash": None,
        "policy_version": None,
    }


def end_cooldown_record(state: ScopeState, producer: str, now: int) -> dict[str, Any]:
    """The ``ess.command`` END_COOLDOWN the timer sends for ``state``'s elapsed cooldown.
    Its id is derived from the scope and the version, so asking twice (a restarted
    worker, a second tick before the first was applied) is one command."""
    command_id = derived_id("ess.end_cooldown", str(state.scope), str(state.version))
    return {
        "envelope": envelope(producer, now, event_id=command_id),
        "command_id": command_id,
        "scope": str(state.scope),
        "kind": EssCommandKind.END_COOLDOWN.value,
        "trigger": EssTrigger.COOLDOWN_ELAPSED.value,
        "expected_version": state.version,
        "by": producer,
        "reason": f"cooldown elapsed at {state.cooldown_until}",
        "cause_event_id": None,
    }


def unchanged_record(
    command: EssCommand, command_event_id: str, transition: Transition, producer: str, now: int
) -> dict[str, Any]:
    """The ``ess.unchanged`` answer to ``command``, which changed nothing: the state in
    force and why. Its id derives from the command's, so a redelivery repeats it."""
    held = transition.current
    why, detail = why_unchanged(command.kind, transition)
    return {
        "envelope": envelope(
            producer,
            now,
            event_id=derived_id("ess.unchanged", command.command_id),
            causation_id=command_event_id,
        ),
        "command_id": command.command_id,
        "scope": str(held.scope),
        "kind": command.kind.value,
        "why": why.value,
        "detail": detail,
        "state": held.state.value,
        "version": held.version,
        "since": held.since,
        "trigger": held.trigger.value if held.trigger else None,
        "cooldown_until": held.cooldown_until,
        "by": held.by,
        "reason": held.reason,
    }
