"""``hfos up`` on the real servers: every part starts and stops, the loop closes (signals
become orders the paper exchange fills), and a part that dies is started again by the
supervisor, which records it in the recovery history."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.catalogue import ACCOUNT_UPDATED, ORDER_REQUESTED, POSITION_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.localstack.process import is_running
from services.supervisor.history import read_history
from services.testing import Servers
from services.testing.kafka import read_topic

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

PARTS = ("worker", "executor", "exchange", "monitor", "simulator")
STARTED = re.compile(r"^(\w+)\s+pid (\d+)\s+log (\S+)$")
RESTARTED = re.compile(r"^exchange\s+pid (\d+)\s+restarted, log ")


class Up:
    """``hfos up`` as a child process, its output collected line by line."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "up", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"no {text!r} in the output:\n{self.output}")
            time.sleep(0.1)

    def finish(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def started(self) -> dict[str, tuple[int, Path]]:
        found = (STARTED.match(line) for line in self.lines)
        return {m[1]: (int(m[2]), Path(m[3])) for m in found if m}

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)


@pytest.fixture
def env(stack: Servers) -> dict[str, str]:
    return {
        **os.environ,
        **stack.environ(),
        "HFOS_TOPIC_PREFIX": f"up{uuid.uuid4().hex[:8]}.",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def runs(env: dict[str, str]) -> Iterator[list[Up]]:
    runs: list[Up] = []
    yield runs
    for run in runs:
        run.close()


def stopped_by_sigterm(output: str, name: str, pid: int) -> bool:
    """The summary line of a part that stopped on SIGTERM, within the grace."""
    return re.search(rf"^{name}\s+pid {pid}\s.*\(SIGTERM, ", output, re.MULTILINE) is not None


def assert_all_gone(pids: list[int]) -> None:
    assert [pid for pid in pids if is_running(pid, "services.cli.main")] == []


def test_up_when_run_for_a_duration_then_every_part_starts_and_stops_and_the_loop_closes(
    env: dict[str, str], runs: list[Up], stack: Servers, serde: AvroSerde, tmp_path: Path
) -> None:
    up = Up(env, "--duration", "12", "--interval", "0.2", "--log-dir", str(tmp_path / "logs"))
    runs.append(up)

    code = up.finish(timeout=100)

    assert code == 0, up.output
    started = up.started()
    assert tuple(started) == PARTS
    for name, (pid, log) in started.items():
        assert f"{name:9} ready in" in up.output
        assert stopped_by_sigterm(up.output, name, pid), up.output
        assert log == tmp_path / "logs" / f"{name}.log"
        assert log.stat().st_size > 0
    assert_all_gone([pid for pid, _ in started.values()])
    assert "model: promoted sim-model 1" in up.output
    assert "stack:" in up.output

    names = TopicNames(env["HFOS_TOPIC_PREFIX"])
    committed = {"bootstrap.servers": stack.kafka, "isolation.level": "read_committed"}
    orders = contract(ORDER_REQUESTED, names)
    order_ids = {
        serde.decode(orders, r.value)["order_id"]
        for r in read_topic(committed, orders.topic, 1, timeout=30, settle=1)
    }
    assert order_ids
    accounts = contract(ACCOUNT_UPDATED, names)
    snapshots = read_topic(committed, accounts.topic, 1, timeout=30, settle=1)
    filled = {serde.decode(accounts, r.value)["order_id"] for r in snapshots} - {None}
    assert filled & order_ids, "no order.requested of the session was filled by the exchange"
    assert read_topic(committed, names.name(POSITION_UPDATED), 1, timeout=30)


@pytest.mark.timeout(240)
def test_up_when_a_part_is_killed_then_the_supervisor_starts_it_again_and_records_it(
    env: dict[str, str], runs: list[Up], stack: Servers, serde: AvroSerde, tmp_path: Path
) -> None:
    up = Up(env, "--duration", "40", "--log-dir", str(tmp_path / "logs"))
    runs.append(up)
    up.wait_for("parts ready", timeout=60)
    up.wait_for("supervisor: recovery: all healthy", timeout=60)
    started = up.started()
    exchange, _log = started["exchange"]

    os.kill(exchange, signal.SIGKILL)
    up.wait_for("restarted, log", timeout=30)
    code = up.finish(timeout=90)

    assert code == 0, up.output
    [again] = [int(m[1]) for m in map(RESTARTED.match, up.lines) if m]
    assert again != exchange
    assert stopped_by_sigterm(up.output, "exchange", again), up.output
    names = TopicNames(env["HFOS_TOPIC_PREFIX"])
    lines = list(
        read_history(
            {"bootstrap.servers": stack.kafka}, serde, names, subsystem="service:hfos-exchange"
        )
    )
    assert [(line["outcome"], line["attempt"]) for line in lines][:4] == [
        ("FAILURE_DETECTED", 0),
        ("ATTEMPT_SCHEDULED", 1),
        ("ATTEMPT_STARTED", 1),
        ("ATTEMPT_SUCCEEDED", 1),
    ]
    assert f"exchange (pid {exchange}) exited with SIGKILL" in str(lines[0]["error"])
    assert_all_gone([pid for pid, _ in started.values()] + [again])
