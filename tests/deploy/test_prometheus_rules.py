"""The alert rules file: valid for promtool, its unit tests pass, and every alert has a
case where it fires and one where it must not."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CHART, find_tool, run

pytestmark = pytest.mark.timeout(120)

RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = Path(__file__).parent / "prometheus" / "rules_test.yaml"


def alerts() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def test_rules_when_checked_by_promtool_then_valid() -> None:
    done = run([find_tool("promtool"), "check", "rules", str(RULES)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in done.stdout


def test_rules_when_unit_tested_by_promtool_then_every_case_passes() -> None:
    done = run([find_tool("promtool"), "test", "rules", str(RULE_TESTS)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_tests_when_counted_then_every_alert_has_firing_and_not_firing_case() -> None:
    cases: dict[str, set[bool]] = defaultdict(set)
    spec: dict[str, Any] = yaml.safe_load(RULE_TESTS.read_text())
    for case in spec["tests"]:
        for check in case["alert_rule_test"]:
            cases[check["alertname"]].add(bool(check.get("exp_alerts")))
    for alert in alerts():
        assert cases[alert] == {True, False}, f"{alert}: firing and not-firing cases needed"


def test_alerts_when_read_then_each_has_severity_summary_and_description() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for rule in (r for g in groups for r in g["rules"]):
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]
