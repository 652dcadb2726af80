"""``hfos policy`` against a real worker (issue 13): a version means a change — a write that
changes nothing is answered "unchanged" and makes no version, ``-0`` and ``0`` are one
value with one hash; an out-of-range version is refused naming the option, nothing sent;
``show`` prints values as ``set`` takes them, times in ISO-8601 UTC; ``set --help`` lists
every field with its range."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from schemas.catalogue import POLICY_COMMAND, POLICY_UNCHANGED, POLICY_UPDATED
from streams.policy.fields import FIELDS
from tests.services.cli.conftest import Desk

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]


def _show(desk: Desk, profile: str) -> dict[str, object]:
    result = desk.hfos("policy", "show", profile, "--json")
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


def _set(desk: Desk, profile: str, *assignments: str) -> str:
    result = desk.hfos("policy", "set", profile, *assignments, "--by", "op", "--reason", "test")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_policy_set_when_values_equal_current_then_unchanged_and_no_version(desk: Desk) -> None:
    before = _show(desk, "defensive")
    values = before["values"]
    assert isinstance(values, dict)
    updated = desk.ends(POLICY_UPDATED)

    out = _set(desk, "defensive", f"max_drawdown={values['max_drawdown']}")

    after = _show(desk, "defensive")
    assert f"defensive unchanged at v{before['version']}" in out
    assert (after["version"], after["hash"]) == (before["version"], before["hash"])
    assert desk.ends(POLICY_UPDATED) == updated
    answers = [a for a in desk.decoded(POLICY_UNCHANGED, 1) if a["profile"] == "defensive"]
    assert answers[-1]["profile_version"] == before["version"]


def test_policy_set_when_min_confidence_negative_zero_then_same_value_and_hash_as_zero(
    desk: Desk,
) -> None:
    _set(desk, "aggressive_small_account", "min_confidence=0")
    zero = _show(desk, "aggressive_small_account")

    out = _set(desk, "aggressive_small_account", "min_confidence=-0")

    negative = _show(desk, "aggressive_small_account")
    assert "unchanged" in out
    assert negative["hash"] == zero["hash"]
    assert negative["version"] == zero["version"]
    assert isinstance(negative["values"], dict)
    assert str(negative["values"]["min_confidence"]) == "0.0"


def test_policy_activate_when_profile_already_active_then_unchanged(desk: Desk) -> None:
    active = desk.hfos("policy", "show", "--json")
    profile = json.loads(active.stdout)["profile"]
    updated = desk.ends(POLICY_UPDATED)

    result = desk.hfos("policy", "activate", profile, "--by", "op", "--reason", "again")

    assert result.exit_code == 0, result.output
    assert f"{profile} unchanged" in result.stdout
    assert "already active" in result.stdout
    assert desk.ends(POLICY_UPDATED) == updated


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["set", "normal", "max_leverage=4", "--expect-version", "9" * 23], "--expect-version"),
        (["set", "normal", "max_leverage=4", "--expect-version", "-3"], "--expect-version"),
        (["activate", "normal", "--expect-version", str(2**64)], "--expect-version"),
        (["set", "normal", "max_leverage=4", "--by", "\x1b[2Jop"], "--by"),
    ],
)
def test_policy_write_when_option_out_of_range_then_refused_naming_it_nothing_sent(
    desk: Desk, argv: list[str], named: str
) -> None:
    before = desk.ends(POLICY_COMMAND)
    defaults = {"--by": "op", "--reason": "range"}
    extra = [part for key, value in defaults.items() if key not in argv for part in (key, value)]

    result = desk.hfos("policy", *argv, *extra)

    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{named}'" in result.stderr
    assert "RecordValidationError" not in result.output
    assert desk.ends(POLICY_COMMAND) == before


def test_policy_show_when_printed_then_booleans_as_set_takes_them_and_times_iso(
    desk: Desk,
) -> None:
    _set(desk, "normal", "allow_new_positions=false")

    text = desk.hfos("policy", "show", "normal").stdout
    shown = _show(desk, "normal")

    assert "allow_new_positions          false" in text
    assert "False" not in text
    created = str(shown["created_at"])
    assert created.endswith("Z")
    assert datetime.fromisoformat(created).utcoffset() == timedelta(0)
    _set(desk, "normal", "allow_new_positions=true")  # as set takes it: false/true round-trip


def test_policy_set_help_when_asked_then_lists_every_field_with_its_range() -> None:
    from services.testing.cli import run_cli  # noqa: PLC0415 - no desk needed

    result = run_cli(["policy", "set", "--help"], {})

    assert result.exit_code == 0
    for spec in FIELDS:
        assert spec.name in result.stdout
    assert "a finite number in (0, 125]" in result.stdout  # max_leverage
    assert "a whole number in [1, 10]" in result.stdout  # breach_confirmations
    assert "true or false" in result.stdout
