"""A real Prometheus (Debian's server) scrapes a running desk (``hfos up``: worker,
executor, paper exchange, simulator) with the chart's rules file; an account's drawdown
trips the breaker, and Prometheus's HTTP API shows the breaker alert firing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.admin import AdminClient

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.venue import Venue
from tests.deploy.conftest import CHART, find_tool

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]

RULES = CHART / "files" / "prometheus-rules.yaml"
JOBS = ("hfos-worker", "hfos-executor", "hfos-exchange")
"""hfos up serves them on HFOS_METRICS_PORT, +1, +2 (the chart's ServiceMonitor job names)."""


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports that are free now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count < 65536 and all(_free(base + i) for i in range(count)):
            return base
    raise AssertionError("no free consecutive ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
        return 0, None


def eventually(what: str, check: Callable[[], Any], timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    tail = "\n".join(f"== {p.name}\n{p.read_text()[-1500:]}" for p in sorted(log.glob("*.log")))
    raise AssertionError(f"{what} within {timeout} s\n{tail}")


@contextmanager
def desk(stack: Servers, prefix: str, metrics_base: int, logs: Path) -> Iterator[None]:
    env = {
        **os.environ,
        **stack.environ(),
        "HFOS_TOPIC_PREFIX": prefix,
        "HFOS_METRICS_PORT": str(metrics_base),
        "HFOS_METRICS_HOST": "127.0.0.1",
    }
    argv = [sys.executable, "-m", "services.cli.main", "up", "--duration", "200"]
    with (logs / "up.log").open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--log-dir", str(logs)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


@contextmanager
def prometheus(port: int, metrics_base: int, work: Path) -> Iterator[str]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{metrics_base + i}"]}]}
            for i, job in enumerate(JOBS)
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    argv = [
        find_tool("prometheus"),
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (work / "prometheus.log").open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def firing(base: str, alert: str) -> list[dict[str, Any]]:
    status, body = get(f"{base}/api/v1/alerts")
    if status != 200:
        return []
    return [
        a
        for a in body["data"]["alerts"]
        if a["labels"]["alertname"] == alert and a["state"] == "firing"
    ]


def test_prometheus_when_desk_breaker_trips_then_breaker_alert_fires(
    stack: Servers, serde: AvroSerde, tmp_path: Path
) -> None:
    prefix = f"prom{uuid.uuid4().hex[:8]}."
    names = TopicNames(prefix)
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    base, port = free_ports(3), free_ports(1)
    logs = tmp_path / "logs"
    logs.mkdir()
    with desk(stack, prefix, base, logs), prometheus(port, base, tmp_path) as api:
        for i, job in enumerate(JOBS):
            eventually(
                f"{job} ready (/readyz 200)",
                lambda i=i: get(f"http://127.0.0.1:{base + i}/readyz")[0] == 200,
                90,
                logs,
            )

        def targets_up() -> bool:
            status, body = get(f"{api}/api/v1/targets")
            active = body["data"]["activeTargets"] if status == 200 else []
            return len(active) == len(JOBS) and all(t["health"] == "up" for t in active)

        eventually("Prometheus scraping every part", targets_up, 30, tmp_path)
        # Two scrapes of the breaker counter at 0 before the trip, and no alert yet.
        time.sleep(2.5)
        assert firing(api, "HfosBreakerTripped") == []

        producer = EventProducer({"bootstrap.servers": stack.kafka}, serde, service="t")
        venue = Venue(producer, names)
        for wallet in (10_000.0, 8_000.0):  # a 20 % drawdown: past normal's 10 % limit
            venue.balance("acc-prom", wallet)

        [alert] = eventually(
            "HfosBreakerTripped firing", lambda: firing(api, "HfosBreakerTripped"), 60, logs
        )
        tripped = eventually(
            "HfosEssTripped firing for the account",
            lambda: [
                a
                for a in firing(api, "HfosEssTripped")
                if a["labels"]["scope"] == "account:acc-prom"
            ]
            and firing(api, "HfosEssTripped"),
            60,
            logs,
        )

    assert alert["labels"]["rule"] == "MAX_DRAWDOWN"
    assert alert["labels"]["severity"] == "critical"
    assert "MAX_DRAWDOWN" in alert["annotations"]["summary"]
    # The breaker trips the account; the position monitor sees its equity fall 20 % within
    # 10 s, a flash crash, and trips the global scope (the default policy, SPEC §9 scenario 6).
    assert {a["labels"]["scope"] for a in tripped} >= {"account:acc-prom"}
    assert {a["labels"]["scope"] for a in tripped} <= {"account:acc-prom", "global"}
