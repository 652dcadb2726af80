"""What the monitor asks of the ESS on a flash crash: the policy names state and scope."""

from __future__ import annotations

import pytest

from schemas.ids import derived_id
from services.monitor.service import flash_crash_command, thresholds_of
from streams.monitor.flashcrash import Episode, Thresholds
from streams.policy.version import PolicyVersion, apply_change

EPISODE = Episode("ep-1", "symbol:BTC", 100.0, 80.0, 0.2, 1_000, "tick-9")


def policy(**changes: object) -> PolicyVersion:
    return apply_change(None, None, dict(changes), author="t", reason="t", now=1, profile="normal")


def test_command_when_no_policy_then_global_trip_with_the_episode_ids() -> None:
    record = flash_crash_command(EPISODE, None, 5_000, Thresholds())
    assert (record["scope"], record["kind"], record["trigger"]) == ("global", "TRIP", "FLASH_CRASH")
    assert record["command_id"] == derived_id("ess.command", "ep-1")
    assert record["cause_event_id"] == "ep-1"
    assert record["envelope"]["causation_id"] == "tick-9"


@pytest.mark.parametrize(
    ("state", "scope", "expected"),
    [
        ("REDUCING", "AFFECTED", ("symbol:BTC", "REDUCE")),
        ("TRIPPED", "AFFECTED", ("symbol:BTC", "TRIP")),
        ("REDUCING", "GLOBAL", ("global", "REDUCE")),
    ],
)
def test_command_when_policy_names_state_and_scope_then_follows_it(
    state: str, scope: str, expected: tuple[str, str]
) -> None:
    active = policy(flash_crash_state=state, flash_crash_scope=scope)
    record = flash_crash_command(EPISODE, active, 5_000, thresholds_of(active))
    assert (record["scope"], record["kind"]) == expected


def test_thresholds_when_policy_sets_them_then_used_else_spec_defaults() -> None:
    assert thresholds_of(None) == Thresholds(0.03, 10_000)
    tight = policy(flash_crash_drop=0.01, flash_crash_window_seconds=30)
    assert thresholds_of(tight) == Thresholds(0.01, 30_000)
