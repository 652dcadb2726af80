"""Opening a service's metrics port from its settings (``HFOS_METRICS_PORT``)."""

from __future__ import annotations

from collections.abc import Callable

from services.health.offsets import EndOffsets
from services.health.probe import Probe
from services.health.reporter import LoopReporter, Snapshot
from services.health.server import serve
from services.settings import Settings


def open_probe(settings: Settings, service: str) -> Probe | None:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` when a metrics port is set; the
    probe is what the service reports into (None: no port, nothing to report)."""
    if not settings.hfos_metrics_port:
        return None
    probe = Probe(service)
    serve(probe, settings.hfos_metrics_port, settings.hfos_metrics_host)
    return probe


def loop_reporter(
    settings: Settings, probe: Probe | None, snapshot: Callable[[], Snapshot]
) -> Callable[[], None]:
    """What a service's loop calls every turn (a no-op without a metrics port)."""
    if probe is None:
        return lambda: None
    return LoopReporter(probe, EndOffsets(settings.kafka_client_config()), snapshot)
