"""Telling a dead server process from a live one, whoever reaps it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.localstack import process
from services.localstack.exceptions import StackError
from services.localstack.parts import Part
from services.localstack.paths import StackPaths
from services.localstack.stack import LocalStack
from services.localstack.state import PartState


def _zombie_of(child: subprocess.Popen[bytes]) -> None:
    """Wait until ``child`` has exited but is not reaped yet (a zombie)."""
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 10
    while process._state(stat.read_text()) != "Z":
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.01)


def test_dead_when_exited_but_not_yet_reaped_then_dead() -> None:
    """A killed server adopted by init stays a zombie until init reaps it (every ~1.5 s
    here); its sockets are already closed, so waiting for the reaper only gave a
    supervisor time to start it again on the port a test meant to hold."""
    child = subprocess.Popen(["true"])
    try:
        _zombie_of(child)

        assert Path(f"/proc/{child.pid}").exists()
        assert process._dead(child.pid)
    finally:
        child.wait()


def test_dead_when_running_then_not_dead() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert not process._dead(child.pid)
    finally:
        child.kill()
        child.wait()


class _Silent(Part):
    """A part whose process never names its marker (as redis-server's command line,
    zeroed for a moment while it rewrites its title) and answers on the second check."""

    name = "silent"

    def __init__(self, home: Path) -> None:
        super().__init__(home, home, [])
        self.checks = 0

    @property
    def marker(self) -> str:
        return "a marker on no command line"

    @property
    def address(self) -> str:
        return ""

    def prepare(self) -> list[str]:
        return []

    def check(self, timeout: float) -> str | None:  # noqa: ARG002 - the Part interface
        self.checks += 1
        return None if self.checks >= 2 else "not yet"


def _stack(root: Path) -> LocalStack:
    return LocalStack(StackPaths(cache=root, data=root))


def test_await_ready_when_the_command_line_lacks_the_marker_then_alive_is_judged_by_the_pid(
    tmp_path: Path,
) -> None:
    part = _Silent(tmp_path)
    pid = process.spawn(["sleep", "30"], cwd=tmp_path, log=tmp_path / "silent.log")
    try:
        LocalStack(StackPaths(cache=tmp_path, data=tmp_path))._await_ready(
            part, PartState("", [], pid)
        )
        assert part.checks == 2
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_await_ready_when_the_process_exits_then_it_says_so(tmp_path: Path) -> None:
    part = _Silent(tmp_path)
    pid = process.spawn(["false"], cwd=tmp_path, log=tmp_path / "silent.log")
    with pytest.raises(StackError, match="exited during start-up"):
        LocalStack(StackPaths(cache=tmp_path, data=tmp_path))._await_ready(
            part, PartState("", [], pid)
        )


def test_spawn_when_another_subprocess_starts_then_the_exit_status_is_still_ours(
    tmp_path: Path,
) -> None:
    pid = process.spawn(["sleep", "30"], cwd=tmp_path, log=tmp_path / "child.log")
    os.kill(pid, signal.SIGKILL)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
    subprocess.run(["true"], check=True)  # reaps subprocess's dropped children
    assert os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
    assert process.gone(pid)
    assert process.exited(pid)
