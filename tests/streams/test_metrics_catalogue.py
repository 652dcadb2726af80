"""The metrics catalogue is the one place metrics are defined; docs/METRICS.md follows it."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from services.exchange import metrics as exchange_metrics
from streams import metrics
from streams.metricsdoc import REGENERATE, render

METRICS_MD = Path(__file__).resolve().parents[2] / "docs" / "METRICS.md"


def test_metrics_md_when_compared_with_generator_then_up_to_date() -> None:
    """The committed docs/METRICS.md is exactly what the generator prints now."""
    committed = METRICS_MD.read_text(encoding="utf-8") if METRICS_MD.exists() else ""
    assert committed == render(), f"docs/METRICS.md is out of date; run: {REGENERATE}"


def test_registry_when_collected_then_every_hfos_metric_is_in_the_catalogue() -> None:
    """No hfos_* metric is registered anywhere but through the catalogue."""
    declared = {spec.name for spec in metrics.CATALOGUE}
    registered = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in REGISTRY.collect()
        if family.name.startswith("hfos_")
    }
    assert registered == declared


def test_catalogue_when_read_then_names_typed_and_helped() -> None:
    """Counters end in _total, nothing else does; every metric says what it means."""
    for spec in metrics.CATALOGUE:
        assert spec.name.startswith("hfos_")
        assert spec.name.endswith("_total") == (spec.kind is metrics.Kind.COUNTER), spec.name
        assert spec.help.strip(), spec.name


def test_catalogue_when_supervisor_and_model_metrics_declared_then_agreed_labels() -> None:
    """The supervisor's and the model promotion's metrics keep the names the alert rules
    use; the model's are declared but not exported until the position monitor lands."""
    expected = {
        "hfos_recovery_attempts_total": ("subsystem", "outcome"),
        "hfos_recovery_exhausted_total": ("subsystem",),
        "hfos_recovery_episode_open": ("subsystem",),
        "hfos_model_promotion_pending_seconds": ("model",),
        "hfos_model_version_info": ("service", "model", "version"),
    }
    for name, labels in expected.items():
        assert metrics.spec(name).labels == labels
    assert all(part.landed for part in metrics.spec("hfos_recovery_attempts_total").parts)
    assert not any(part.landed for part in metrics.spec("hfos_model_version_info").parts)


def test_exchange_module_when_imported_then_names_the_catalogue_objects() -> None:
    """Code importing the exchange's short names gets the catalogue's objects."""
    assert exchange_metrics.FILLS is metrics.EXCHANGE_FILLS
