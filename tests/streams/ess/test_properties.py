"""Properties of the ESS over arbitrary mixes of commands, triggers and timer ticks."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import EssCommandKind, EssState, EssTrigger
from streams.ess import (
    DEFAULT_TARGETS,
    GLOBAL,
    EssCommand,
    EssError,
    ScopeState,
    Transition,
    apply_command,
    apply_trigger,
    initial,
    remember_refused,
    tick,
)
from streams.testing import START

SETTINGS = settings(max_examples=150, deadline=None)
COOLDOWN_S = 900


@dataclass(frozen=True)
class Cmd:
    command: EssCommand
    now: int


@dataclass(frozen=True)
class Trig:
    trigger: EssTrigger
    cause: str
    target: EssState | None
    now: int


@dataclass(frozen=True)
class Tick:
    now: int


Input = Cmd | Trig | Tick


@dataclass(frozen=True)
class Draft:
    """A generated step; the command's expected version is fixed when it is first issued."""

    kind: str
    command: EssCommandKind
    version_mode: str
    trigger: EssTrigger
    target: EssState | None
    advance_s: int


drafts = st.builds(
    Draft,
    kind=st.sampled_from(["cmd", "cmd", "cmd", "trigger", "tick", "tick"]),
    # RESET weighted up so that cooldowns, and their expiry, happen often.
    command=st.sampled_from([*EssCommandKind, EssCommandKind.RESET, EssCommandKind.RESET]),
    version_mode=st.sampled_from(["current", "current", "behind", "ahead", "none"]),
    trigger=st.sampled_from(sorted(DEFAULT_TARGETS)),
    target=st.sampled_from([None, EssState.REDUCING, EssState.TRIPPED]),
    advance_s=st.sampled_from([0, 1, 600, 2000]),
)


def step(state: ScopeState, item: Input) -> tuple[ScopeState, Transition | None]:
    if isinstance(item, Tick):
        moved = tick(state, item.now)
        return moved.current, moved
    if isinstance(item, Trig):
        moved = apply_trigger(state, item.trigger, item.cause, item.now, target=item.target)
        return moved.current, moved
    try:
        moved = apply_command(state, item.command, item.now, COOLDOWN_S)
    except EssError:
        return remember_refused(state, item.command), None
    return moved.current, moved


def issue(drafts_: list[Draft]) -> list[Input]:
    """Turn drafts into concrete inputs, in order, as live senders would have issued them."""
    state, now, inputs = initial(GLOBAL), START, []
    for index, draft in enumerate(drafts_):
        now += draft.advance_s * 1000
        item = _concrete(draft, index, state, now)
        inputs.append(item)
        state, _ = step(state, item)
    return inputs


def _concrete(draft: Draft, index: int, state: ScopeState, now: int) -> Input:
    if draft.kind == "tick":
        return Tick(now)
    if draft.kind == "trigger":
        return Trig(draft.trigger, f"cause-{index}", draft.target, now)
    expected = {
        "current": state.version,
        "behind": state.version - 1,
        "ahead": state.version + 1,
        "none": None,
    }[draft.version_mode]
    command = EssCommand(f"cmd-{index}", GLOBAL, draft.command, "op", "why", expected)
    return Cmd(command, now)


def final(inputs: list[Input]) -> ScopeState:
    state = initial(GLOBAL)
    for item in inputs:
        state, _ = step(state, item)
    return state


@SETTINGS
@given(st.lists(drafts, max_size=40))
def test_tripped_when_any_inputs_then_left_only_by_a_reset_command(script: list[Draft]) -> None:
    """No trigger, timer or other command takes a scope out of TRIPPED; RESET does."""
    state = initial(GLOBAL)
    for item in issue(script):
        before = state.state
        state, _ = step(state, item)
        if before is EssState.TRIPPED and state.state is not EssState.TRIPPED:
            assert isinstance(item, Cmd)
            assert item.command.kind is EssCommandKind.RESET
            assert state.state is EssState.COOLING_DOWN


@SETTINGS
@given(st.lists(drafts, max_size=40))
def test_versions_when_any_inputs_then_each_transition_adds_exactly_one(
    script: list[Draft],
) -> None:
    """A state change bumps the version by one; anything else leaves it alone."""
    state = initial(GLOBAL)
    for item in issue(script):
        before = state
        state, moved = step(state, item)
        changed = (state.state, state.since) != (before.state, before.since)
        assert state.version == before.version + (1 if changed else 0)
        if moved is not None:
            assert moved.changed == changed


@SETTINGS
@given(st.lists(drafts, max_size=40), st.data())
def test_redelivery_when_a_prefix_is_fed_again_then_same_state(
    script: list[Draft], data: st.DataObject
) -> None:
    """Commands and triggers carry ids: replaying any prefix changes nothing."""
    inputs = issue(script)
    prefix = data.draw(st.integers(0, len(inputs)))
    assert final(inputs + inputs[:prefix]) == final(inputs)


@SETTINGS
@given(st.lists(drafts, max_size=40), st.data())
def test_redelivery_when_crash_rewinds_to_an_earlier_offset_then_same_state(
    script: list[Draft], data: st.DataObject
) -> None:
    """Processing up to k, then restarting from an earlier offset j, equals one pass."""
    inputs = issue(script)
    crashed_at = data.draw(st.integers(0, len(inputs)))
    resumed_from = data.draw(st.integers(0, crashed_at))
    assert final(inputs[:crashed_at] + inputs[resumed_from:]) == final(inputs)
