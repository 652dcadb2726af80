"""What every benchmark shares: the servers, the machine description, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from typing import Any

from services.localstack.stack import LocalStack
from services.testing import Servers


def servers() -> Servers:
    """The servers from the environment, else the local stack (started if needed)."""
    names = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "REDIS_URL")
    if all(os.environ.get(n) for n in names):
        return Servers(os.environ[names[0]], os.environ[names[1]], os.environ[names[2]])
    stack = LocalStack()
    addresses = stack.up().addresses()
    return Servers(addresses[names[0]], addresses[names[1]], addresses[names[2]], local=stack)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in info.splitlines()
                if line.startswith("Model name")
            ),
            cpu,
        )
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def latency_summary(values: list[float], digits: int = 2) -> dict[str, float]:
    """p50, p99 and max of ``values`` (p99 = the value at rank 0.99 n)."""
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), digits),
        "p99": round(ordered[min(int(0.99 * len(ordered)), len(ordered) - 1)], digits),
        "max": round(ordered[-1], digits),
    }


def emit(result: dict[str, Any]) -> None:
    """Print the result as one JSON object on the last line."""
    print(json.dumps({**result, "machine": machine()}, sort_keys=True))
