"""The supervisor's records: history lines (``system.recovery``), its own state
(``system.recovery.state``) and the escalation command (``ess.command``), and back.

Every id is derived from its cause (SPEC §0): a history line from its subsystem, episode
and sequence number; an escalation from its subsystem and episode (number and opening
time), so however often a restarted supervisor sends it, the emergency stop applies it
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.enums import EssCommandKind, EssState, EssTrigger, RecoveryAction, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from schemas.envelope import envelope
from schemas.ids import derived_id
from services.supervisor.episode import Episode, Escalation, Line

PRODUCER = "hfos-supervisor"
ESCALATION_SCOPE = "global"
_KINDS = {EssState.REDUCING: EssCommandKind.REDUCE, EssState.TRIPPED: EssCommandKind.TRIP}


def escalation_id(subsystem: str, episode: int, opened_at: int) -> str:
    """The id of an episode's escalation: the ESCALATED line's event id and the cause the
    emergency stop deduplicates on. The opening time makes an episode number reused after
    a lost state (a deleted topic) a different episode, never a duplicate to ignore."""
    return derived_id("supervisor.escalation", subsystem, str(episode), str(opened_at))


def line_record(
    line: Line,
    *,
    critical: bool,
    action: RecoveryAction | None,
    opened_at: int | None,
    producer: str = PRODUCER,
) -> dict[str, Any]:
    """The ``system.recovery`` record of one history line."""
    if line.outcome is RecoveryOutcome.ESCALATED and opened_at is not None:
        event_id = escalation_id(line.subsystem, line.episode, opened_at)
    else:
        event_id = derived_id(
            "system.recovery", line.subsystem, str(line.episode), str(line.sequence)
        )
    return {
        "envelope": envelope(producer, line.at, event_id=event_id),
        "subsystem": line.subsystem,
        "episode": line.episode,
        "attempt": line.attempt,
        "outcome": line.outcome.value,
        "delay_ms": line.delay_ms,
        "error": line.error,
        "critical": critical,
        "escalated_to": None if line.escalated_to is None else line.escalated_to.value,
        "action": None if action is None else action.value,
    }


def state_record(
    state: Episode, *, critical: bool, now: int, producer: str = PRODUCER
) -> dict[str, Any]:
    """The compacted ``system.recovery.state`` record of one subsystem."""
    return {
        "envelope": envelope(
            producer,
            now,
            event_id=derived_id("system.recovery.state", state.subsystem, str(state.sequence)),
        ),
        "subsystem": state.subsystem,
        "phase": state.phase.value,
        "episode": state.episode,
        "attempt": state.attempt,
        "total_attempts": state.total_attempts,
        "sequence": state.sequence,
        "opened_at": state.opened_at,
        "failing_since": state.failing_since,
        "due_at": state.due_at,
        "delay_ms": state.delay_ms,
        "started_at": state.started_at,
        "healthy_since": state.healthy_since,
        "exhausted": state.exhausted,
        "escalated": state.escalated,
        "critical": critical,
        "error": state.error,
    }


def state_from_record(record: Mapping[str, Any]) -> Episode:
    return Episode(
        subsystem=str(record["subsystem"]),
        phase=Phase(record["phase"]),
        episode=int(record["episode"]),
        attempt=int(record["attempt"]),
        total_attempts=int(record["total_attempts"]),
        sequence=int(record["sequence"]),
        opened_at=_optional_int(record.get("opened_at")),
        failing_since=_optional_int(record.get("failing_since")),
        due_at=_optional_int(record.get("due_at")),
        delay_ms=int(record["delay_ms"]),
        started_at=_optional_int(record.get("started_at")),
        healthy_since=_optional_int(record.get("healthy_since")),
        exhausted=bool(record["exhausted"]),
        escalated=bool(record["escalated"]),
        error=record.get("error"),
    )


def escalation_command(
    escalation: Escalation, now: int, producer: str = PRODUCER
) -> dict[str, Any]:
    """The ``ess.command`` an escalation sends: REDUCE or TRIP the global scope, trigger
    SUPERVISOR_ESCALATION, caused by the episode's ESCALATED line."""
    cause = escalation_id(escalation.subsystem, escalation.episode, escalation.opened_at)
    command_id = derived_id("ess.command", cause)
    return {
        "envelope": envelope(
            producer, now, event_id=command_id, correlation_id=cause, causation_id=cause
        ),
        "command_id": command_id,
        "scope": ESCALATION_SCOPE,
        "kind": _KINDS[escalation.target].value,
        "trigger": EssTrigger.SUPERVISOR_ESCALATION.value,
        "expected_version": None,
        "by": producer,
        "reason": escalation.reason,
        "cause_event_id": cause,
    }


def _optional_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
