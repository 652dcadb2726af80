"""``hfos`` with the broker unreachable (issue 13 point 3): bad input is refused at once,
before any network; a protective command says plainly that it was not sent; librdkafka's
own log lines reach the terminal only with ``-v``. Each command runs as its own process,
so stderr is exactly what an operator's terminal shows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HFOS = str(Path(sys.executable).with_name("hfos"))

pytestmark = pytest.mark.timeout(120)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def away() -> dict[str, str]:
    """Settings naming servers where nothing listens."""
    port = _closed_port()
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "HFOS_TOPIC_PREFIX": "offline.",
    }


def _hfos(env: dict[str, str], *argv: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run([HFOS, *argv], env=env, capture_output=True, text=True, check=False)
    return time.monotonic() - started, done


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["policy", "set", "normal", "max_leverage=NaN"], "max_leverage"),
        (["policy", "set", "normal", "min_confidence=inf"], "min_confidence"),
        (
            ["policy", "set", "normal", "max_leverage=2", "--expect-version", "1e3"],
            "--expect-version",
        ),
        (["ess", "trip", "--scope", "account:\x1b[31mRED"], "--scope"),
        (["strategy", "switch", "defensive", "--scope", "account:\u200b"], "--scope"),
    ],
)
def test_cli_when_broker_away_and_input_bad_then_refused_at_once_naming_it(
    away: dict[str, str], argv: list[str], named: str
) -> None:
    seconds, done = _hfos(away, *argv, "--by", "op", "--reason", "offline")

    assert done.returncode in (1, 2)
    assert seconds < 3.0  # decided before any network (it took 33 s)
    assert named in done.stderr
    assert len(done.stderr) < 1000  # usage and the refusal, not ~580 log lines
    assert "rdkafka" not in done.stderr
    assert "Traceback" not in done.stderr


def test_ess_trip_when_broker_away_then_says_not_sent_without_log_noise(
    away: dict[str, str],
) -> None:
    seconds, done = _hfos(away, "ess", "trip", "--scope", "global", "--by", "op", "--reason", "x")

    assert done.returncode == 1
    assert seconds < 25.0
    assert "TRIP of global was NOT sent" in done.stderr
    assert "broker" in done.stderr
    assert "NOT READY" not in done.stderr  # a protective command is not "new risk"
    assert "rdkafka" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_when_verbose_and_broker_away_then_librdkafka_lines_are_shown(
    away: dict[str, str],
) -> None:
    with ThreadPoolExecutor(2) as pool:  # each waits out its 15 s; side by side
        quiet_run = pool.submit(_hfos, away, "policy", "show")
        verbose_run = pool.submit(_hfos, away, "-v", "policy", "show")
        (_, quiet), (_, verbose) = quiet_run.result(), verbose_run.result()

    assert quiet.returncode == verbose.returncode == 1
    assert quiet.stderr.strip().splitlines() == [
        line for line in verbose.stderr.strip().splitlines() if line.startswith("hfos:")
    ]
    assert "is the broker up" in quiet.stderr
    assert "hfos.librdkafka" in verbose.stderr
    assert "Connection refused" in verbose.stderr
