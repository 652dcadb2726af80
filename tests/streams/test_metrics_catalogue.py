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


def test_catalogue_when_supervisor_metrics_declared_then_agreed_labels_and_exported() -> None:
    """The supervisor's metrics keep the names the alert rules use, and it exports them."""
    expected = {
        "hfos_recovery_attempts_total": ("subsystem", "outcome"),
        "hfos_recovery_exhausted_total": ("subsystem",),
        "hfos_recovery_episode_open": ("subsystem",),
    }
    for name, labels in expected.items():
        assert metrics.spec(name).labels == labels
    assert all(part.landed for part in metrics.spec("hfos_recovery_attempts_total").parts)


def test_catalogue_when_promotion_metrics_read_then_exported_by_the_parts_that_set_them() -> None:
    """The promotion alert's metrics keep their agreed labels, and now have exporters: the
    worker's coordinator the pending age, each model consumer the version it serves."""
    pending = metrics.spec("hfos_model_promotion_pending_seconds")
    assert pending.labels == ("model",)
    assert pending.parts == (metrics.Part.WORKER,)
    info = metrics.spec("hfos_model_version_info")
    assert info.labels == ("service", "model", "version")
    assert set(info.parts) == {metrics.Part.MONITOR, metrics.Part.EXECUTOR}
    assert all(part.landed for part in (*pending.parts, *info.parts))


def test_exchange_module_when_imported_then_names_the_catalogue_objects() -> None:
    """Code importing the exchange's short names gets the catalogue's objects."""
    assert exchange_metrics.FILLS is metrics.EXCHANGE_FILLS
