"""ESS commands: transitions, compare-and-set, completeness and the production guard."""

from __future__ import annotations

import pytest

from schemas.enums import EssCommandKind, EssState, EssTrigger
from streams.ess import (
    CommandRefusedError,
    IncompleteCommandError,
    ScopeError,
    ScopeState,
    StaleCommandError,
    Transition,
    apply_command,
)
from streams.testing import START, command, scope_state

TRIP, REDUCE, RESET, DISABLE = (
    EssCommandKind.TRIP,
    EssCommandKind.REDUCE,
    EssCommandKind.RESET,
    EssCommandKind.DISABLE,
)
COOLDOWN_S = 900


def apply(
    current: ScopeState,
    kind: EssCommandKind,
    *,
    scope: str = "global",
    expected_version: int | None = None,
    by: str = "operator",
    reason: str = "test",
) -> Transition:
    issued = command(kind, scope, expected_version=expected_version, by=by, reason=reason)
    return apply_command(current, issued, START, COOLDOWN_S)


def test_trip_when_armed_then_tripped_one_version_later() -> None:
    moved = apply(scope_state(), TRIP)
    assert (moved.current.state, moved.current.version, moved.current.since) == (
        EssState.TRIPPED,
        1,
        START,
    )
    assert moved.changed
    assert moved.trigger is EssTrigger.MANUAL
    assert (moved.previous.state, moved.by, moved.reason) == (EssState.ARMED, "operator", "test")


def test_trip_when_already_tripped_then_no_op_but_remembered() -> None:
    issued = command(TRIP)
    moved = apply_command(scope_state(state=EssState.TRIPPED, version=3), issued, START, 900)
    assert not moved.changed
    assert moved.current.version == 3
    assert issued.command_id in moved.current.recent


@pytest.mark.parametrize("state", [EssState.ARMED, EssState.COOLING_DOWN, EssState.DISABLED])
def test_reduce_when_less_restrictive_then_reducing(state: EssState) -> None:
    assert apply(scope_state(state=state), REDUCE).current.state is EssState.REDUCING


def test_reduce_when_tripped_then_never_loosens() -> None:
    moved = apply(scope_state(state=EssState.TRIPPED, version=2), REDUCE)
    assert (moved.current.state, moved.changed) == (EssState.TRIPPED, False)


@pytest.mark.parametrize("state", [EssState.TRIPPED, EssState.REDUCING])
def test_reset_when_tripped_or_reducing_then_cooling_down_for_cooldown(state: EssState) -> None:
    moved = apply(scope_state(state=state, version=5), RESET, expected_version=5)
    assert moved.current.state is EssState.COOLING_DOWN
    assert moved.current.cooldown_until == START + COOLDOWN_S * 1000
    assert (moved.current.version, moved.trigger) == (6, EssTrigger.RESET)


def test_reset_when_disabled_then_armed() -> None:
    moved = apply(scope_state(state=EssState.DISABLED, version=1), RESET, expected_version=1)
    assert (moved.current.state, moved.current.cooldown_until) == (EssState.ARMED, None)


@pytest.mark.parametrize("state", [EssState.ARMED, EssState.COOLING_DOWN])
def test_reset_when_nothing_to_reset_then_no_op(state: EssState) -> None:
    moved = apply(scope_state(state=state, version=2), RESET, expected_version=2)
    assert (moved.current.state, moved.changed) == (state, False)


@pytest.mark.parametrize("kind", [RESET, DISABLE])
def test_loosening_command_when_no_expected_version_then_incomplete(kind: EssCommandKind) -> None:
    with pytest.raises(IncompleteCommandError) as raised:
        apply(scope_state(state=EssState.TRIPPED), kind)
    assert raised.value.field == "expected_version"


@pytest.mark.parametrize("field", ["by", "reason"])
def test_command_when_who_or_why_blank_then_incomplete_naming_it(field: str) -> None:
    blank = {"by": "operator", "reason": "test", field: "  "}
    with pytest.raises(IncompleteCommandError) as raised:
        apply(scope_state(state=EssState.TRIPPED), RESET, expected_version=0, **blank)
    assert raised.value.field == field
    assert field in str(raised.value)


def test_command_when_expected_version_stale_then_refused_and_nothing_changes() -> None:
    current = scope_state(state=EssState.TRIPPED, version=7)
    with pytest.raises(StaleCommandError) as raised:
        apply(current, RESET, expected_version=6)
    assert (raised.value.scope, raised.value.expected, raised.value.actual) == ("global", 6, 7)


def test_tightening_command_when_expected_version_stale_then_also_refused() -> None:
    with pytest.raises(StaleCommandError):
        apply(scope_state(version=2), TRIP, expected_version=1)


def test_disable_when_armed_outside_production_then_disabled() -> None:
    moved = apply(scope_state(version=1), DISABLE, expected_version=1)
    assert moved.current.state is EssState.DISABLED


def test_disable_when_production_then_refused() -> None:
    issued = command(DISABLE, expected_version=0)
    with pytest.raises(CommandRefusedError) as raised:
        apply_command(scope_state(), issued, START, COOLDOWN_S, production=True)
    assert "production" in str(raised.value)


@pytest.mark.parametrize("state", [EssState.TRIPPED, EssState.REDUCING, EssState.COOLING_DOWN])
def test_disable_when_not_armed_then_refused(state: EssState) -> None:
    with pytest.raises(CommandRefusedError) as raised:
        apply(scope_state(state=state), DISABLE, expected_version=0)
    assert raised.value.state == state


def test_command_when_redelivered_then_duplicate_without_effect() -> None:
    issued = command(TRIP)
    tripped = apply_command(scope_state(), issued, START, COOLDOWN_S).current
    reset = apply(tripped, RESET, expected_version=1).current
    again = apply_command(reset, issued, START + 5, COOLDOWN_S)
    assert again.duplicate
    assert again.current == reset


def test_command_when_scope_differs_from_state_then_refused() -> None:
    with pytest.raises(ScopeError):
        apply(scope_state("account:acc-1"), TRIP, scope="account:acc-2")
