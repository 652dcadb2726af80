"""CLI text ``FIELD=VALUE`` is parsed to the field's type, with errors naming the field."""

from __future__ import annotations

import pytest

from streams.policy import (
    InvalidPolicyError,
    PolicyValidationError,
    parse_assignment,
    parse_assignments,
    validate_changes,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_leverage=1.5", ("max_leverage", 1.5)),
        ("max_leverage=4", ("max_leverage", 4.0)),
        (" breach_confirmations = 3 ", ("breach_confirmations", 3)),
        ("allow_new_positions=false", ("allow_new_positions", False)),
        ("allow_new_positions=TRUE", ("allow_new_positions", True)),
        ("position_size_cap=1e3", ("position_size_cap", 1000.0)),
        ("supervisor_escalation_state=tripped", ("supervisor_escalation_state", "TRIPPED")),
        ("supervisor_escalation_state=REDUCING", ("supervisor_escalation_state", "REDUCING")),
        ("flash_crash_state=reducing", ("flash_crash_state", "REDUCING")),
        ("flash_crash_scope=affected", ("flash_crash_scope", "AFFECTED")),
    ],
)
def test_parse_when_well_formed_then_typed_value(text: str, expected: tuple[str, object]) -> None:
    field, value = parse_assignment(text)
    assert (field, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("max_leverage=abc", "max_leverage"),
        ("breach_confirmations=1.5", "breach_confirmations"),
        ("allow_new_positions=maybe", "allow_new_positions"),
        ("supervisor_escalation_state=ARMED", "supervisor_escalation_state"),
        ("no_such_field=1", "no_such_field"),
        ("max_leverage", "max_leverage"),
    ],
)
def test_parse_when_malformed_then_error_names_the_field(text: str, field: str) -> None:
    with pytest.raises(PolicyValidationError) as raised:
        parse_assignment(text)
    assert raised.value.field == field
    assert field in str(raised.value)


def test_parse_when_nan_text_then_validation_refuses_it() -> None:
    changes = parse_assignments("normal", ["max_drawdown=nan"])
    with pytest.raises(InvalidPolicyError) as raised:
        validate_changes("normal", changes)
    assert raised.value.fields == ("max_drawdown",)


def test_parse_assignments_when_several_bad_then_all_reported() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        parse_assignments("normal", ["max_leverage=x", "min_confidence=0.5", "bogus=1"])
    assert raised.value.fields == ("max_leverage", "bogus")


def test_parse_assignments_when_field_repeated_then_refused() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        parse_assignments("normal", ["max_leverage=2", "max_leverage=3"])
    assert raised.value.errors[0].problem == "repeated"


def test_parse_then_validate_when_in_range_then_changes_ready_to_apply() -> None:
    changes = parse_assignments("defensive", ["max_leverage=2.5", "max_open_positions=4"])
    assert validate_changes("defensive", changes) == {
        "max_leverage": 2.5,
        "max_open_positions": 4,
    }
