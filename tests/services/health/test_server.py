"""The metrics port answers /metrics, /healthz and /readyz over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from services.health.probe import Probe
from services.health.server import HealthServer

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def served() -> Iterator[tuple[Probe, str]]:
    probe = Probe("test-http")
    server = HealthServer(probe, 0, "127.0.0.1").start()
    yield probe, f"http://127.0.0.1:{server.port}"
    server.close()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_healthz_when_alive_then_200_with_json_reason(served: tuple[Probe, str]) -> None:
    _, base = served
    status, body = get(f"{base}/healthz")
    assert status == 200
    assert json.loads(body) == {"service": "test-http", "ok": True, "detail": "alive"}


def test_readyz_when_not_caught_up_then_503_saying_why(served: tuple[Probe, str]) -> None:
    probe, base = served
    probe.set_ready(ok=False, detail="not caught up on ess.state:0")
    status, body = get(f"{base}/readyz")
    assert status == 503
    assert json.loads(body)["detail"] == "not caught up on ess.state:0"


def test_readyz_when_caught_up_then_200_and_ready_gauge_set(served: tuple[Probe, str]) -> None:
    probe, base = served
    probe.set_ready(ok=True, detail="caught up and connected")
    assert get(f"{base}/readyz")[0] == 200
    _, metrics = get(f"{base}/metrics")
    assert b'hfos_service_ready{service="test-http"} 1.0' in metrics


def test_healthz_when_impaired_then_503(served: tuple[Probe, str]) -> None:
    probe, base = served
    probe.impair("1 input partition(s) stalled (watchdog)")
    status, body = get(f"{base}/healthz")
    assert status == 503
    assert b"stalled" in body


def test_metrics_when_scraped_then_catalogue_metrics_in_text_format(
    served: tuple[Probe, str],
) -> None:
    _, base = served
    status, body = get(f"{base}/metrics")
    assert status == 200
    assert b"# TYPE hfos_breaker_trips_total counter" in body


def test_unknown_path_when_requested_then_404(served: tuple[Probe, str]) -> None:
    _, base = served
    assert get(f"{base}/nope")[0] == 404
