"""One rule for names: printable ASCII of a bounded length, nothing a terminal interprets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.names import NAME_MAX_LENGTH, InvalidNameError, check_name, name_problem, scope_problem


@pytest.mark.parametrize(
    "name", ["acc-7", "BTCUSDT", "BTC/USDT", "ES_F", "desk@fund", "a", "x" * 64]
)
def test_name_when_venue_style_then_accepted(name: str) -> None:
    assert check_name("account id", name) == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("x" * 65, "65 characters long"),
        ("\x1b[31mRED", "control character U+001B"),
        ("a\u200b", "invisible format character U+200B ZERO WIDTH SPACE"),
        ("a\u202eb", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("a\x7f", "control character U+007F"),
        ("a\x08", "control character U+0008"),
        ("a\x01", "control character U+0001"),
        ("a b", "space character U+0020"),
        (":", "':' (U+003A COLON) at position 0"),
        ("-acc", "starting with a letter or a digit"),
        ("café", "'é'"),
    ],
)
def test_name_when_it_breaks_the_rule_then_problem_says_why(name: str, problem: str) -> None:
    found = name_problem(name)
    assert found is not None
    assert problem in found


def test_check_name_when_huge_then_error_is_short_ascii_and_names_what() -> None:
    with pytest.raises(InvalidNameError) as raised:
        check_name("account id", "\x1b" + "x" * 100_000)
    message = str(raised.value)
    assert message.startswith("account id '\\x1b")
    assert message.isascii()
    assert len(message) < 300


@given(st.text(max_size=NAME_MAX_LENGTH + 5))
def test_name_rule_when_accepted_then_printable_ascii_without_colon_or_space(text: str) -> None:
    if name_problem(text) is None:
        assert text.isascii()
        assert text.isprintable()
        assert ":" not in text
        assert " " not in text
        assert 1 <= len(text) <= NAME_MAX_LENGTH


@pytest.mark.parametrize("scope", ["global", "account:acc-1", "symbol:BTC/USDT", "strategy:x"])
def test_scope_when_well_formed_then_no_problem(scope: str) -> None:
    assert scope_problem(scope) is None


@pytest.mark.parametrize(
    "scope", ["", "account:", "account::", "planet:x", "global:x", "account:\x1b"]
)
def test_scope_when_malformed_then_problem(scope: str) -> None:
    assert scope_problem(scope) is not None
