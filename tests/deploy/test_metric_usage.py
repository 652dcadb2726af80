"""Every metric an alert rule or a dashboard panel uses is one the code exports (the
catalogue in streams/metrics.py), so a renamed metric cannot leave a silent alert."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from streams.metrics import CATALOGUE
from tests.deploy.conftest import CHART

PROMETHEUS_OWN = {"up"}
"""Series Prometheus makes itself for every target."""
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "sum", "min", "max", "avg", "count", "rate", "increase",
    "absent", "histogram_quantile", "le", "humanize", "__rate_interval", "namespace",
}  # fmt: skip


def exported() -> set[str]:
    return {series for spec in CATALOGUE for series in spec.series()}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers outside label matchers
    and strings, that are not PromQL's own words or a grouping label."""
    without_strings = re.sub(r'"[^"]*"', "", expr)
    without_matchers = re.sub(r"\{[^}]*\}", "", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_matchers)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_groupings)
    without_numbers = re.sub(r"\b\d+(\.\d+)?(ms|[smhdwy])?\b", "", without_ranges)
    return {word for word in _IDENTIFIER.findall(without_numbers) if word not in _PROMQL_WORDS}


def rule_expressions() -> Iterator[str]:
    groups = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())["groups"]
    for group in groups:
        for rule in group["rules"]:
            yield rule["expr"]


def panel_expressions() -> Iterator[str]:
    dashboard: dict[str, Any] = json.loads((CHART / "files" / "dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield re.sub(r"label_values\((\w+),.*", r"\1", variable["definition"])


def test_metric_names_when_parsed_then_finds_selectors_not_labels_or_functions() -> None:
    expr = 'sum by (namespace, rule) (increase(hfos_breaker_trips_total{a="x"}[10m])) > 0'
    assert metric_names(expr) == {"hfos_breaker_trips_total"}
    ratio = "max by (service) (hfos_producer_queue_depth / hfos_producer_queue_capacity) > 0.8"
    assert metric_names(ratio) == {"hfos_producer_queue_depth", "hfos_producer_queue_capacity"}


def test_alert_rules_when_read_then_use_only_exported_metrics() -> None:
    used = set().union(*(metric_names(e) for e in rule_expressions()))
    unknown = used - exported() - PROMETHEUS_OWN
    assert not unknown, f"rules use metrics the code does not export: {sorted(unknown)}"
    assert "hfos_breaker_trips_total" in used


def test_dashboard_panels_when_read_then_use_only_exported_metrics() -> None:
    used = set().union(*(metric_names(e) for e in panel_expressions()))
    unknown = used - exported()
    assert not unknown, f"panels use metrics the code does not export: {sorted(unknown)}"
    assert "hfos_account_equity" in used


def test_metric_usage_when_rule_names_unknown_metric_then_caught() -> None:
    """The check would catch a renamed metric (the case it exists for)."""
    assert metric_names("rate(hfos_breaker_trip_total[5m]) > 0") - exported() == {
        "hfos_breaker_trip_total"
    }
