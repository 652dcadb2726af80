"""Policy versions: canonical hashing and compare-and-set writes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import ProfileName
from streams.policy import (
    DEFAULT_PROFILES,
    HashMismatchError,
    InvalidPolicyError,
    PolicyVersion,
    StaleVersionError,
    apply_change,
    canonical_json,
    policy_hash,
    verify_hash,
)
from streams.testing import START, policy

NORMAL = DEFAULT_PROFILES[ProfileName.NORMAL]


def _write(
    current: PolicyVersion | None,
    expected: int | None,
    changes: Mapping[str, object] | None = None,
    *,
    profile: str | None = None,
) -> PolicyVersion:
    return apply_change(
        current,
        expected,
        changes or {},
        author="alice",
        reason="tighten",
        now=START,
        profile=profile,
    )


def test_canonical_json_when_rendered_then_sorted_compact_with_profile_name() -> None:
    text = canonical_json(ProfileName.NORMAL, NORMAL)
    parsed = json.loads(text)
    assert parsed["profile"] == "normal"
    assert list(parsed) == sorted(parsed)
    assert " " not in text
    assert '"max_drawdown":0.1,' in text
    assert '"max_leverage":5.0,' in text
    assert '"allow_new_positions":true' in text


def test_hash_when_computed_then_is_sha256_of_the_canonical_json() -> None:
    expected = hashlib.sha256(canonical_json(ProfileName.NORMAL, NORMAL).encode()).hexdigest()
    assert policy_hash(ProfileName.NORMAL, NORMAL) == expected


@pytest.mark.parametrize(
    ("profile", "written_before_the_escalation_field"),
    [
        (ProfileName.NORMAL, "00417076a8b587e530b404bd335c385947272904cd9b6d0077e6c75baf37cb3a"),
        (ProfileName.DEFENSIVE, "8a7adf5795c9238b7ac071199f41fd06c70410adb15169c689441fe7472f52b4"),
    ],
)
def test_hash_when_escalation_state_at_default_then_same_as_before_the_field_existed(
    profile: ProfileName, written_before_the_escalation_field: str
) -> None:
    """Versions already on policy.updated keep verifying after the upgrade."""
    assert policy_hash(profile, DEFAULT_PROFILES[profile]) == written_before_the_escalation_field


def test_hash_when_escalation_state_tripped_then_differs_from_default() -> None:
    tripped = replace(NORMAL, supervisor_escalation_state="TRIPPED")
    assert '"supervisor_escalation_state":"TRIPPED"' in canonical_json(ProfileName.NORMAL, tripped)
    assert policy_hash(ProfileName.NORMAL, tripped) != policy_hash(ProfileName.NORMAL, NORMAL)


def test_hash_when_profile_name_differs_then_differs() -> None:
    assert policy_hash(ProfileName.NORMAL, NORMAL) != policy_hash(ProfileName.DEFENSIVE, NORMAL)


def test_hash_when_int_given_for_float_field_then_same_as_float() -> None:
    as_int = replace(NORMAL, max_leverage=5)
    assert policy_hash(ProfileName.NORMAL, as_int) == policy_hash(ProfileName.NORMAL, NORMAL)


def test_apply_when_first_version_then_starts_from_default_at_version_one() -> None:
    created = _write(None, None, {"max_leverage": 4.0}, profile="normal")
    assert created.version == 1
    assert created.values == replace(NORMAL, max_leverage=4.0)
    assert created.hash == policy_hash(ProfileName.NORMAL, created.values)
    assert (created.author, created.reason, created.created_at) == ("alice", "tighten", START)


def test_apply_when_expected_matches_then_version_increases_by_one() -> None:
    first = _write(None, 0, profile="normal")
    second = _write(first, 1, {"min_confidence": 0.55})
    assert second.version == 2
    assert second.values.min_confidence == 0.55
    assert second.values.max_leverage == first.values.max_leverage


def test_apply_when_expected_is_stale_then_refused_with_both_versions() -> None:
    current = _write(_write(None, None, profile="normal"), 1)
    with pytest.raises(StaleVersionError) as raised:
        _write(current, 1, {"max_leverage": 9.0})
    assert (raised.value.profile, raised.value.expected, raised.value.actual) == ("normal", 1, 2)


def test_apply_when_no_version_exists_and_writer_expects_one_then_refused() -> None:
    with pytest.raises(StaleVersionError):
        _write(None, 3, profile="normal")


def test_apply_when_values_invalid_then_nothing_written_and_all_named() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        apply_change(
            None,
            None,
            {"max_leverage": 500.0},
            author=" ",
            reason="",
            now=START,
            profile="normal",
        )
    assert set(raised.value.fields) == {"author", "reason", "max_leverage"}


def test_apply_when_unknown_profile_then_refused() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        _write(None, None, profile="yolo")
    assert raised.value.fields == ("profile",)


def test_apply_when_first_version_without_profile_then_refused() -> None:
    with pytest.raises(InvalidPolicyError):
        _write(None, None)


def test_apply_when_profile_differs_from_current_then_refused() -> None:
    with pytest.raises(InvalidPolicyError):
        _write(policy(ProfileName.NORMAL), 1, profile="defensive")


def test_verify_when_hash_tampered_then_refused() -> None:
    tampered = replace(policy(), hash="0" * 64)
    with pytest.raises(HashMismatchError):
        verify_hash(tampered)
    verify_hash(policy())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=125.0), min_size=1, max_size=8))
def test_apply_when_chained_then_versions_strictly_increase_by_one(leverages: list[float]) -> None:
    """Each accepted write is exactly one version above the one it replaced."""
    current: PolicyVersion | None = None
    for expected, leverage in enumerate(leverages):
        written = _write(current, expected, {"max_leverage": leverage}, profile="normal")
        assert written.version == expected + 1
        assert written.values.max_leverage == leverage
        current = written


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_validate_when_any_float_then_accepted_only_inside_the_range(value: float) -> None:
    """A leverage is accepted exactly when it is a finite number in (0, 125]."""
    if 0 < value <= 125:  # false for NaN
        written = _write(None, None, {"max_leverage": value}, profile="normal")
        assert written.values.max_leverage == value
    else:
        with pytest.raises(InvalidPolicyError) as refused:
            _write(None, None, {"max_leverage": value}, profile="normal")
        assert refused.value.fields == ("max_leverage",)
