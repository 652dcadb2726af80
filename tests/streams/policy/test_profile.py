"""Risk profiles: the SPEC §2 defaults, and validation that names the field and range."""

from __future__ import annotations

import math

import pytest

from schemas.enums import ProfileName
from streams.policy import (
    DEFAULT_PROFILES,
    FIELDS,
    InvalidPolicyError,
    RiskProfile,
    UnknownProfileError,
    validate_changes,
    validate_record,
)

SPEC_TABLE = {
    # field: (aggressive_small_account, normal, defensive)
    "max_leverage": (7.0, 5.0, 3.0),
    "max_risk_per_trade": (0.03, 0.015, 0.0075),
    "max_daily_loss": (0.06, 0.05, 0.03),
    "max_drawdown": (0.15, 0.10, 0.06),
    "warn_fraction": (0.8, 0.8, 0.8),
    "breach_confirmations": (1, 1, 1),
    "max_open_positions": (15, 30, 10),
    "min_confidence": (0.45, 0.50, 0.60),
    "position_size_cap": (300, 1000, 500),
    "allow_new_positions": (True, True, True),
    "stale_after_seconds": (30, 30, 30),
}
ORDER = (ProfileName.AGGRESSIVE_SMALL_ACCOUNT, ProfileName.NORMAL, ProfileName.DEFENSIVE)


@pytest.mark.parametrize("field", sorted(SPEC_TABLE))
def test_defaults_when_read_then_match_the_spec_table(field: str) -> None:
    for profile, expected in zip(ORDER, SPEC_TABLE[field], strict=True):
        assert getattr(DEFAULT_PROFILES[profile], field) == expected


def test_defaults_when_read_then_flash_crash_and_cooldown_match_spec_sections_4_and_6() -> None:
    for values in DEFAULT_PROFILES.values():
        assert (values.flash_crash_drop, values.flash_crash_window_seconds) == (0.03, 10)
        assert values.ess_cooldown_seconds == 900


def test_defaults_when_read_then_supervisor_escalates_to_reducing() -> None:
    for values in DEFAULT_PROFILES.values():
        assert values.supervisor_escalation_state == "REDUCING"


@pytest.mark.parametrize("value", ["ARMED", "DISABLED", "COOLING_DOWN", "reducing", "", 1, None])
def test_validate_when_escalation_state_not_reducing_or_tripped_then_refused_naming_both(
    value: object,
) -> None:
    """Only the two states a system trigger may ask for; case is the CLI parser's business."""
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", {"supervisor_escalation_state": value})
    [error] = raised.value.errors
    assert error.field == "supervisor_escalation_state"
    assert error.allowed == "one of REDUCING, TRIPPED"


def test_field_table_when_read_then_lists_every_profile_field_in_order() -> None:
    assert [spec.name for spec in FIELDS] == list(DEFAULT_PROFILES[ProfileName.NORMAL].values())


@pytest.mark.parametrize(
    ("field", "allowed"),
    [
        ("max_leverage", "a finite number in (0, 125]"),
        ("warn_fraction", "a finite number in (0, 1)"),
        ("min_confidence", "a finite number in [0, 1]"),
        ("breach_confirmations", "a whole number in [1, 10]"),
        ("position_size_cap", "a finite number > 0"),
        ("allow_new_positions", "true or false"),
    ],
)
def test_allowed_when_rendered_then_shows_open_and_closed_bounds(field: str, allowed: str) -> None:
    assert {spec.name: spec.allowed for spec in FIELDS}[field] == allowed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_leverage", 0.0),
        ("max_leverage", 125.0000001),
        ("max_risk_per_trade", 1.01),
        ("warn_fraction", 1.0),
        ("warn_fraction", 0.0),
        ("breach_confirmations", 0),
        ("breach_confirmations", 11),
        ("max_open_positions", 101),
        ("min_confidence", -0.01),
        ("position_size_cap", 0.0),
        ("stale_after_seconds", 3601),
        ("flash_crash_drop", 0.0),
        ("ess_cooldown_seconds", 0),
    ],
)
def test_validate_when_out_of_range_then_refused_naming_field_and_range(
    field: str, value: object
) -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", {field: value})
    (error,) = raised.value.errors
    assert (error.field, error.value) == (field, value)
    assert field in str(raised.value)
    assert error.allowed in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_leverage", 125.0),
        ("max_risk_per_trade", 1.0),
        ("min_confidence", 0.0),
        ("min_confidence", 1.0),
        ("breach_confirmations", 10),
        ("stale_after_seconds", 1),
        ("position_size_cap", 1e12),
    ],
)
def test_validate_when_on_a_closed_bound_then_accepted(field: str, value: object) -> None:
    assert validate_changes("normal", {field: value}) == {field: value}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_validate_when_not_finite_then_refused(value: float) -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", {"max_drawdown": value})
    assert raised.value.errors[0].problem == "not a finite number"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_open_positions", True),
        ("max_leverage", True),
        ("max_leverage", "1.5"),
        ("breach_confirmations", 2.0),
        ("allow_new_positions", 1),
        ("allow_new_positions", "true"),
        ("max_drawdown", None),
    ],
)
def test_validate_when_wrong_type_then_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", {field: value})
    assert raised.value.fields == (field,)


def test_validate_when_int_given_for_a_float_field_then_stored_as_float() -> None:
    changed = validate_changes("normal", {"max_leverage": 4})
    assert changed == {"max_leverage": 4.0}
    assert isinstance(changed["max_leverage"], float)


def test_validate_when_unknown_field_then_refused_listing_known_fields() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", {"max_levrage": 3.0})
    assert raised.value.fields == ("max_levrage",)
    assert "max_leverage" in raised.value.errors[0].allowed


def test_validate_when_unknown_profile_then_refused_listing_profiles() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("yolo", {})
    (error,) = raised.value.errors
    assert isinstance(error, UnknownProfileError)
    assert "defensive" in str(raised.value)


def test_validate_when_several_problems_then_all_reported_together() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("yolo", {"max_leverage": 0.0, "warn_fraction": math.nan, "bogus": 1})
    assert raised.value.fields == ("profile", "max_leverage", "warn_fraction", "bogus")


def test_validate_record_when_complete_then_builds_profile() -> None:
    values = DEFAULT_PROFILES[ProfileName.DEFENSIVE].values()
    assert validate_record("defensive", values) == DEFAULT_PROFILES[ProfileName.DEFENSIVE]


def test_validate_record_when_optional_settings_absent_then_defaults_apply() -> None:
    values = {
        name: value
        for name, value in DEFAULT_PROFILES[ProfileName.NORMAL].values().items()
        if name not in {"flash_crash_drop", "flash_crash_window_seconds", "ess_cooldown_seconds"}
    }
    assert validate_record("normal", values).ess_cooldown_seconds == 900


def test_validate_record_when_fields_missing_then_each_named() -> None:
    values = dict(DEFAULT_PROFILES[ProfileName.NORMAL].values())
    del values["max_drawdown"], values["min_confidence"]
    with pytest.raises(InvalidPolicyError) as raised:
        validate_record("normal", values)
    assert set(raised.value.fields) == {"max_drawdown", "min_confidence"}
    assert all(error.problem == "missing" for error in raised.value.errors)


def test_profile_when_constructed_with_bad_value_then_refused() -> None:
    values = {**DEFAULT_PROFILES[ProfileName.NORMAL].values(), "max_leverage": -1.0}
    with pytest.raises(InvalidPolicyError) as raised:
        RiskProfile(**values)  # type: ignore[arg-type]
    assert raised.value.fields == ("max_leverage",)


def test_defaults_when_read_then_flash_crash_trips_the_global_scope() -> None:
    """SPEC §9 scenario 6: the flash-crash detector takes the global scope to TRIPPED."""
    for values in DEFAULT_PROFILES.values():
        assert (values.flash_crash_state, values.flash_crash_scope) == ("TRIPPED", "GLOBAL")


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("flash_crash_state", "ARMED", "one of REDUCING, TRIPPED"),
        ("flash_crash_state", "tripped", "one of REDUCING, TRIPPED"),
        ("flash_crash_scope", "symbol", "one of GLOBAL, AFFECTED"),
        ("flash_crash_scope", 1, "one of GLOBAL, AFFECTED"),
        ("flash_crash_drop", 0.0, "a finite number in (0, 1]"),
        ("flash_crash_window_seconds", 0, "a whole number in [1, 3600]"),
    ],
)
def test_validate_when_flash_crash_field_out_of_its_set_then_refused_naming_it(
    field: str, value: object, allowed: str
) -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", {field: value})
    [error] = raised.value.errors
    assert (error.field, error.allowed) == (field, allowed)
