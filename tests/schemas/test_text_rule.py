"""Free text an operator types (who, why) is printable and bounded; a record breaking a value
rule is refused with a typed error naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.examples import example_record
from schemas.names import text_problem
from schemas.values import ValueRuleError, check_rules


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is blank"),
        ("   ", "is blank"),
        ("op\x1b[31m", "control character U+001B"),
        ("why\u200b", "invisible format character U+200B"),
        ("\u202eevil", "U+202E"),
        ("a\u00a0b", "space character U+00A0"),
        ("line\nbreak", "U+000A"),
        ("x" * 65, "65 characters long; at most 64"),
    ],
)
def test_text_problem_when_unprintable_blank_or_long_then_named(text: str, problem: str) -> None:
    found = text_problem(text, 64)

    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "text", ["alice", "Alice Smith", "ops@desk", "réduire l'exposition", "交易员"]
)
def test_text_problem_when_printable_and_bounded_then_none(text: str) -> None:
    assert text_problem(text, 64) is None


@given(st.text(min_size=1, max_size=64))
def test_text_problem_when_any_text_then_accepted_exactly_when_printable_and_not_blank(
    text: str,
) -> None:
    assert (text_problem(text, 64) is None) == (text.isprintable() and text.strip() != "")


def test_check_rules_when_scope_breaks_name_rule_then_value_rule_error_names_the_field() -> None:
    record = {**example_record("hfos.EssCommand"), "scope": "account:\x1b[31mRED"}

    with pytest.raises(ValueRuleError) as refused:
        check_rules("hfos.EssCommand", record)

    assert refused.value.path == "scope"
    assert "U+001B" in str(refused.value)
