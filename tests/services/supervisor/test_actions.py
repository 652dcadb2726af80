"""The supervisor's stack restart telling a starting part from one that exited, by its
pid: a real child process whose command line never names the part's marker (as
redis-server's, zeroed for a moment while it rewrites its title) is still starting."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from services.localstack import process
from services.localstack.paths import StackPaths
from services.localstack.stack import LocalStack
from services.localstack.state import PartState
from services.supervisor.actions import StackRestart


def _launched(root: Path, argv: list[str]) -> tuple[StackRestart, int]:
    action = StackRestart(LocalStack(StackPaths(cache=root, data=root)), "redis")
    pid = process.spawn(argv, cwd=root, log=root / "redis.log")
    action._launched = PartState("redis://127.0.0.1:1/0", [1], pid)
    return action, pid


def test_failed_when_the_launched_process_runs_without_its_marker_then_not_failed(
    tmp_path: Path,
) -> None:
    action, pid = _launched(tmp_path, ["sleep", "30"])
    try:
        assert action.failed() is None
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_failed_when_the_launched_process_exited_then_it_says_so(tmp_path: Path) -> None:
    action, pid = _launched(tmp_path, ["false"])
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
    failed = action.failed()
    assert failed is not None
    assert "exited during start-up" in failed
