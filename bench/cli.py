"""Start-up of the ``hfos`` CLI: process wall time of real commands, several runs each.

Each command runs as its own process (``hfos`` as installed: the console script, Python
start, imports, settings, Kafka and registry round trips, exit), against the real stack
and a real stream worker on topics of its own. One warm-up run per command is not counted
(cold page cache); then ``--runs`` timed runs, and the median, min and max in seconds.
The machine's load average is recorded before and after: the project's machine is shared,
so compare medians taken while nothing else runs.

Targets (issue 13): ``hfos --help`` < 0.3 s, ``hfos policy show`` < 1 s.

    python -m bench.cli [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, servers
from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.topics import provision
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.workers import running_worker

HFOS = str(Path(sys.executable).with_name("hfos"))
TARGETS = {"hfos --help": 0.3, "hfos policy show": 1.0}
COMMANDS: dict[str, list[str]] = {
    "hfos --help": ["--help"],
    "hfos policy show": ["policy", "show"],
    "hfos ess status": ["ess", "status"],
    "hfos strategy show": ["strategy", "show"],
    # Refusals: decided before any network; the exit status is 2 (bad argument).
    "hfos policy set (NaN, refused)": [
        "policy",
        "set",
        "normal",
        "max_leverage=NaN",
        "--by",
        "bench",
        "--reason",
        "refusal",
    ],
    "hfos ess trip (ESC in scope, refused)": [
        "ess",
        "trip",
        "--scope",
        "account:\x1b[31mRED",
        "--by",
        "bench",
        "--reason",
        "refusal",
    ],
    # A round trip to the ESS owner: sent, applied or answered unchanged, printed.
    "hfos ess trip (answered)": [
        "ess",
        "trip",
        "--scope",
        "account:bench",
        "--by",
        "bench",
        "--reason",
        "start-up bench",
    ],
}


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run([HFOS, *argv], env=env, capture_output=True, check=False)
    return time.perf_counter() - started, done.returncode


def _wait_policy(found: Servers, names: TopicNames, log: Path) -> None:
    view = PolicyView(
        {"bootstrap.servers": found.kafka},
        names,
        AvroSerde(SchemaRegistryClient({"url": found.registry})),
    )
    try:
        deadline = time.monotonic() + 90
        while view.state().active() is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"no policy from the worker; its log:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
    finally:
        view.close()


def run(runs: int) -> dict[str, Any]:
    found = servers()
    names = TopicNames(f"benchcli{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": found.kafka}), names.specs())
    env = {**os.environ, **found.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "worker.log"
        with running_worker(env, f"{names.prefix}streams", log):
            _wait_policy(found, names, log)
            for label, argv in COMMANDS.items():
                _time(argv, env)  # warm-up, not counted
                timed = [_time(argv, env) for _ in range(runs)]
                seconds = [t for t, _ in timed]
                results[label] = {
                    "median_s": round(statistics.median(seconds), 3),
                    "min_s": round(min(seconds), 3),
                    "max_s": round(max(seconds), 3),
                    "exit_status": sorted({code for _, code in timed}),
                    "runs": [round(t, 3) for t in seconds],
                }
    for label, limit in TARGETS.items():
        results[label]["target_s"] = limit
        results[label]["met"] = results[label]["median_s"] < limit
    return {
        "benchmark": "cli start-up (process wall time)",
        "runs_per_command": runs,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "commands": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    emit(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
