"""Every ESS command is answered: a command that changes nothing gets the state in force and
why (``ess.unchanged``), with who and why of that state; changes carry who and why too."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastavro.validation import validate
from hypothesis import given
from hypothesis import strategies as st

from schemas.enums import EssCommandKind, EssState, EssUnchangedReason
from schemas.loader import standalone_schema
from schemas.serde import codec_schema
from schemas.values import rule_problems
from streams.ess import Transition, apply_command
from streams.ess.answers import why_unchanged
from streams.ess.codec import (
    state_from_json,
    state_record,
    state_to_json,
    unchanged_record,
)
from streams.ess.state import attributed
from streams.ess.triggers import end_cooldown
from streams.testing import START, command, scope_state

COOLDOWN_S = 900
WIRE = codec_schema(standalone_schema("hfos.EssUnchanged"))
KINDS = (EssCommandKind.TRIP, EssCommandKind.REDUCE, EssCommandKind.RESET)


def _apply(state: EssState, kind: EssCommandKind, version: int = 3) -> Transition:
    until = START + COOLDOWN_S * 1000 if state is EssState.COOLING_DOWN else None
    current = replace(scope_state("account:a", state, version), since=START, cooldown_until=until)
    issued = command(kind, "account:a", expected_version=version)
    return apply_command(current, issued, START, COOLDOWN_S)


@pytest.mark.parametrize(
    ("state", "kind", "why"),
    [
        (EssState.TRIPPED, EssCommandKind.TRIP, EssUnchangedReason.AT_LEAST_AS_RESTRICTIVE),
        (EssState.TRIPPED, EssCommandKind.REDUCE, EssUnchangedReason.AT_LEAST_AS_RESTRICTIVE),
        (EssState.REDUCING, EssCommandKind.REDUCE, EssUnchangedReason.AT_LEAST_AS_RESTRICTIVE),
        (EssState.ARMED, EssCommandKind.RESET, EssUnchangedReason.NOTHING_TO_RESET),
        (EssState.COOLING_DOWN, EssCommandKind.RESET, EssUnchangedReason.NOTHING_TO_RESET),
    ],
)
def test_why_unchanged_when_command_changes_nothing_then_typed_reason_and_state_named(
    state: EssState, kind: EssCommandKind, why: EssUnchangedReason
) -> None:
    transition = _apply(state, kind)

    reason, detail = why_unchanged(kind, transition)

    assert not transition.changed
    assert reason is why
    assert f"account:a is {state.value} (v3 since 2026-01-01T00:00:00.000Z)" in detail


def test_why_unchanged_when_reduce_of_tripped_then_says_only_reset_leaves_it() -> None:
    _, detail = why_unchanged(
        EssCommandKind.REDUCE, _apply(EssState.TRIPPED, EssCommandKind.REDUCE)
    )

    assert "only a RESET leaves TRIPPED" in detail


def test_why_unchanged_when_reset_of_cooling_down_then_says_when_it_arms_by_itself() -> None:
    _, detail = why_unchanged(
        EssCommandKind.RESET, _apply(EssState.COOLING_DOWN, EssCommandKind.RESET)
    )

    assert "ARMED at 2026-01-01T00:15:00.000Z by itself" in detail


def test_why_unchanged_when_command_redelivered_then_already_applied() -> None:
    issued = command(EssCommandKind.TRIP, "account:a")
    first = apply_command(scope_state("account:a"), issued, START, COOLDOWN_S)

    again = apply_command(first.current, issued, START + 5, COOLDOWN_S)

    assert why_unchanged(EssCommandKind.TRIP, again)[0] is EssUnchangedReason.ALREADY_APPLIED


def test_why_unchanged_when_end_cooldown_superseded_then_cooldown_not_due() -> None:
    tripped = scope_state("account:a", EssState.TRIPPED, 5)

    transition = end_cooldown(tripped, "cool-1", 4, START)

    reason, _ = why_unchanged(EssCommandKind.END_COOLDOWN, transition)
    assert reason is EssUnchangedReason.COOLDOWN_NOT_DUE


def test_attributed_when_transition_changes_scope_then_state_carries_who_and_why() -> None:
    issued = command(EssCommandKind.TRIP, "account:a", by="alice", reason="feed down")
    moved = apply_command(scope_state("account:a"), issued, START, COOLDOWN_S)

    after = attributed(moved)

    assert (after.by, after.reason) == ("alice", "feed down")
    assert state_from_json(state_to_json(after)) == after
    record = state_record(after, "hfos-ess", START)
    assert (record["by"], record["reason"]) == ("alice", "feed down")


def test_attributed_when_nothing_changed_then_who_and_why_of_the_state_in_force_kept() -> None:
    tripping = command(EssCommandKind.TRIP, "account:a", by="alice", reason="feed down")
    held = attributed(apply_command(scope_state("account:a"), tripping, START, COOLDOWN_S))
    again = command(EssCommandKind.TRIP, "account:a", by="bob", reason="also")

    noop = apply_command(held, again, START + 1, COOLDOWN_S)

    assert (attributed(noop).by, attributed(noop).reason) == ("alice", "feed down")


@given(
    state=st.sampled_from(list(EssState)),
    kind=st.sampled_from(KINDS),
    version=st.integers(0, 2**40),
)
def test_unchanged_record_when_built_then_valid_answer_to_its_command(
    state: EssState, kind: EssCommandKind, version: int
) -> None:
    """For every state and operator command that changes nothing, the answer is a valid
    ess.unchanged record caused by the command."""
    current = scope_state("account:a", state, version)
    issued = command(kind, "account:a", expected_version=version)
    if state is EssState.DISABLED and kind is EssCommandKind.RESET:
        return  # RESET of DISABLED arms the scope: a change
    transition = apply_command(current, issued, START, COOLDOWN_S)
    if transition.changed:
        return

    record: dict[str, Any] = unchanged_record(issued, "evt-1", transition, "hfos-ess", START)

    assert validate(record, WIRE, raise_errors=True, strict=True)
    assert rule_problems("hfos.EssUnchanged", record) == []
    assert record["envelope"]["causation_id"] == "evt-1"
    assert (record["state"], record["version"], record["kind"]) == (
        state.value,
        version,
        kind.value,
    )
