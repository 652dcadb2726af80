"""System triggers tighten only; the cooldown timer is the only timer and never un-trips."""

from __future__ import annotations

import pytest

from schemas.enums import EssCommandKind, EssState, EssTrigger
from streams.ess import (
    DEFAULT_TARGETS,
    GLOBAL,
    EssCommand,
    IncompleteCommandError,
    ScopeState,
    TriggerError,
    apply_command,
    apply_trigger,
    tick,
)
from streams.testing import START, command, scope_state

COOLING = ScopeState(GLOBAL, EssState.COOLING_DOWN, 3, START, EssTrigger.RESET, START + 1000)


@pytest.mark.parametrize(("trigger", "target"), sorted(DEFAULT_TARGETS.items()))
def test_trigger_when_armed_then_moves_to_its_default_target(
    trigger: EssTrigger, target: EssState
) -> None:
    moved = apply_trigger(scope_state(), trigger, "cause-1", START)
    assert (moved.current.state, moved.current.trigger) == (target, trigger)
    assert (moved.cause_event_id, moved.current.version) == ("cause-1", 1)


def test_trigger_when_spec_defaults_then_breaker_trips_and_stale_data_reduces() -> None:
    assert DEFAULT_TARGETS[EssTrigger.CIRCUIT_BREAKER] is EssState.TRIPPED
    assert DEFAULT_TARGETS[EssTrigger.STALE_DATA] is EssState.REDUCING
    assert DEFAULT_TARGETS[EssTrigger.EXECUTION_ERRORS] is EssState.REDUCING


def test_trigger_when_target_given_then_used() -> None:
    moved = apply_trigger(
        scope_state(), EssTrigger.FLASH_CRASH, "c", START, target=EssState.REDUCING
    )
    assert moved.current.state is EssState.REDUCING


def test_trigger_when_reducing_asked_on_tripped_then_no_op() -> None:
    moved = apply_trigger(
        scope_state(state=EssState.TRIPPED, version=4), EssTrigger.STALE_DATA, "c", START
    )
    assert (moved.changed, moved.current.state, moved.current.version) == (
        False,
        EssState.TRIPPED,
        4,
    )


def test_trigger_when_cooling_down_then_tightens() -> None:
    moved = apply_trigger(
        scope_state(state=EssState.COOLING_DOWN), EssTrigger.DAILY_LOSS, "c", START
    )
    assert moved.current.state is EssState.REDUCING


@pytest.mark.parametrize(
    "trigger", [EssTrigger.MANUAL, EssTrigger.RESET, EssTrigger.COOLDOWN_ELAPSED]
)
def test_trigger_when_not_a_system_trigger_then_refused(trigger: EssTrigger) -> None:
    with pytest.raises(TriggerError) as raised:
        apply_trigger(scope_state(), trigger, "c", START)
    assert raised.value.trigger == trigger


def test_trigger_when_target_loosens_then_refused() -> None:
    with pytest.raises(TriggerError):
        apply_trigger(scope_state(), EssTrigger.FLASH_CRASH, "c", START, target=EssState.ARMED)


def test_trigger_when_no_cause_then_refused() -> None:
    with pytest.raises(TriggerError):
        apply_trigger(scope_state(), EssTrigger.CIRCUIT_BREAKER, " ", START)


def test_trigger_when_cause_redelivered_after_reset_then_no_second_trip() -> None:
    tripped = apply_trigger(scope_state(), EssTrigger.CIRCUIT_BREAKER, "breach-1", START).current
    reset = command(EssCommandKind.RESET, expected_version=tripped.version)
    cooling = apply_command(tripped, reset, START, 900).current
    again = apply_trigger(cooling, EssTrigger.CIRCUIT_BREAKER, "breach-1", START + 1)
    assert again.duplicate
    assert again.current.state is EssState.COOLING_DOWN


def test_tick_when_cooldown_not_elapsed_then_nothing() -> None:
    assert not tick(COOLING, START + 999).changed


def test_tick_when_cooldown_elapsed_then_armed() -> None:
    moved = tick(COOLING, START + 1000)
    assert (moved.current.state, moved.current.version) == (EssState.ARMED, 4)
    assert moved.trigger is EssTrigger.COOLDOWN_ELAPSED
    assert moved.current.cooldown_until is None


@pytest.mark.parametrize("state", [EssState.TRIPPED, EssState.REDUCING, EssState.ARMED])
def test_tick_when_not_cooling_down_then_never_moves(state: EssState) -> None:
    current = scope_state(state=state, version=9)
    assert tick(current, START + 10**12).current == current


def _end(expected_version: int | None, command_id: str = "end-1") -> EssCommand:
    return command(
        EssCommandKind.END_COOLDOWN, expected_version=expected_version, command_id=command_id
    )


def test_end_cooldown_when_elapsed_at_the_version_it_names_then_armed() -> None:
    moved = apply_command(COOLING, _end(3), START + 1000, 900)
    assert (moved.current.state, moved.current.version) == (EssState.ARMED, 4)
    assert moved.trigger is EssTrigger.COOLDOWN_ELAPSED


def test_end_cooldown_when_not_yet_elapsed_then_nothing_changes() -> None:
    moved = apply_command(COOLING, _end(3), START + 999, 900)
    assert (moved.changed, moved.current.state) == (False, EssState.COOLING_DOWN)


def test_end_cooldown_when_scope_moved_on_since_the_timer_asked_then_ignored_not_refused() -> None:
    tripped = ScopeState(GLOBAL, EssState.TRIPPED, 4, START, EssTrigger.MANUAL)
    moved = apply_command(tripped, _end(3), START + 5000, 900)
    assert (moved.changed, moved.current.state) == (False, EssState.TRIPPED)


def test_end_cooldown_when_redelivered_after_arming_then_no_second_transition() -> None:
    armed = apply_command(COOLING, _end(3), START + 1000, 900).current
    again = apply_command(armed, _end(3), START + 2000, 900)
    assert (again.changed, again.duplicate, again.current.version) == (False, True, 4)


def test_end_cooldown_when_no_version_named_then_incomplete() -> None:
    with pytest.raises(IncompleteCommandError):
        apply_command(COOLING, _end(None), START + 1000, 900)
