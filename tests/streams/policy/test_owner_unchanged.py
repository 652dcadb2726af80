"""A policy version means a change (issue 13 point 5): a write of the values in force, or an
activation of the profile already active, is answered Unchanged and makes no version;
``-0`` and ``0`` are one value with one hash, and a version hashed before that stays
readable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.enums import PolicyCommandKind, ProfileName
from streams.policy import (
    DEFAULT_PROFILES,
    HashMismatchError,
    PolicyVersion,
    StaleVersionError,
    apply_change,
    parse_assignments,
    policy_hash,
    validate_changes,
    verify_hash,
)
from streams.policy.owner import PolicyState, decide
from streams.policy.records import Activation, Unchanged
from streams.testing import START

NORMAL = DEFAULT_PROFILES[ProfileName.NORMAL]


def _version(values: Any = NORMAL, version: int = 4) -> PolicyVersion:
    return PolicyVersion(
        ProfileName.NORMAL,
        version,
        policy_hash(ProfileName.NORMAL, values),
        "a",
        "r",
        values,
        START,
    )


def _state(current: PolicyVersion) -> PolicyState:
    activation = Activation(
        "global", current.profile, current.version, current.hash, 2, "a", "r", START
    )
    return PolicyState({"normal": current}, {"global": activation})


def _set(state: PolicyState, changes: dict[str, str], expected: int) -> Any:
    command = {
        "kind": PolicyCommandKind.SET.value,
        "profile": "normal",
        "changes": changes,
        "expected_version": expected,
        "by": "op",
        "reason": "test",
    }
    return decide(command, state, START + 1)


def test_decide_when_set_repeats_the_values_in_force_then_unchanged_at_that_version() -> None:
    current = _version()

    result = _set(_state(current), {"max_drawdown": "0.1", "max_leverage": "5"}, 4)

    assert isinstance(result, Unchanged)
    assert (result.kind, result.version, result.in_force) == (PolicyCommandKind.SET, 4, current)


def test_decide_when_set_changes_a_value_then_next_version() -> None:
    result = _set(_state(_version()), {"max_drawdown": "0.09"}, 4)

    assert isinstance(result, PolicyVersion)
    assert result.version == 5


def test_decide_when_noop_set_expects_an_old_version_then_still_refused_as_stale() -> None:
    with pytest.raises(StaleVersionError):
        _set(_state(_version()), {"max_drawdown": "0.1"}, 3)


def test_decide_when_activating_the_active_profile_then_unchanged() -> None:
    current = _version()
    command = {
        "kind": PolicyCommandKind.ACTIVATE.value,
        "profile": "normal",
        "scope": "global",
        "changes": {},
        "expected_version": 2,
        "by": "op",
        "reason": "again",
    }

    result = decide(command, _state(current), START + 1)

    assert isinstance(result, Unchanged)
    assert (result.kind, result.version) == (PolicyCommandKind.ACTIVATE, 2)


@pytest.mark.parametrize("text", ["-0", "-0.0", "-0e5", "-0.000"])
def test_min_confidence_when_negative_zero_then_same_value_and_hash_as_zero(text: str) -> None:
    negative = validate_changes("normal", parse_assignments("normal", [f"min_confidence={text}"]))
    zero = validate_changes("normal", parse_assignments("normal", ["min_confidence=0"]))

    assert str(negative["min_confidence"]) == "0.0"
    assert policy_hash(ProfileName.NORMAL, replace(NORMAL, **negative)) == policy_hash(
        ProfileName.NORMAL, replace(NORMAL, **zero)
    )


def test_write_when_zero_after_zero_then_unchanged_whatever_its_sign() -> None:
    zero = apply_change(_version(), 4, {"min_confidence": 0.0}, author="a", reason="r", now=START)

    result = _set(_state(zero), {"min_confidence": "-0"}, zero.version)

    assert isinstance(result, Unchanged)


def test_verify_hash_when_written_before_negative_zero_was_canonical_then_still_valid() -> None:
    values = replace(NORMAL, min_confidence=0.0)
    # What the code of that time hashed: the fields it knew (none of those added since and
    # left out of the hash at their default: the supervisor's, the flash crash's state and
    # scope).
    later = {"supervisor_escalation_state", "flash_crash_state", "flash_crash_scope"}
    known = {k: v for k, v in values.values().items() if k not in later}
    legacy = json.dumps(
        {"profile": "normal", **known, "min_confidence": -0.0},
        sort_keys=True,
        separators=(",", ":"),
    )
    old = replace(_version(values), hash=hashlib.sha256(legacy.encode()).hexdigest())

    verify_hash(old)  # accepted: the hash the old code wrote for these very values
    with pytest.raises(HashMismatchError):
        verify_hash(replace(old, hash="0" * 64))


@given(st.one_of(st.just(-0.0), st.floats(-0.0, 1)))
def test_policy_hash_when_value_is_any_zero_or_fraction_then_sign_of_zero_irrelevant(
    value: float,
) -> None:
    """For every min_confidence, the hash is that of the value, not of its sign bit."""
    assert policy_hash(ProfileName.NORMAL, replace(NORMAL, min_confidence=value)) == policy_hash(
        ProfileName.NORMAL, replace(NORMAL, min_confidence=abs(value))
    )
