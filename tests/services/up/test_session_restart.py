"""A worker that exits as stalled (75) is restarted with backoff; other exits are not."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from services.supervisor.backoff import BackoffPolicy, on_failure
from services.up import session as session_module
from services.up.children import Child
from services.up.exceptions import PartExitedError
from services.up.plan import Part, Started
from services.up.session import Session, StopRequest


def _child(part: Part, log_dir: Path, code: int) -> Child:
    log = log_dir / f"{part.name}.log"
    process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    process.wait(10)
    return Child(part, process, log, time.monotonic())


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Session, list[str]]:
    said: list[str] = []
    fast = BackoffPolicy(delays=(0.01, 0.01, 0.01))
    monkeypatch.setattr(
        session_module,
        "on_failure",
        lambda state, now, source: on_failure(state, now, source, fast),
    )
    part = Part("worker", ("worker",), Started())
    spawned: list[int] = []

    def spawn(part: Part, log_dir: Path, _env: Mapping[str, str], _c: Sequence[str] = ()) -> Any:
        spawned.append(1)
        return _child(part, log_dir, 0 if len(spawned) > 1 else 75)

    monkeypatch.setattr(session_module, "spawn", spawn)
    built = Session(None, (part,), tmp_path, {}, said.append, StopRequest())  # type: ignore[arg-type]
    return built, said


def test_restart_when_exit_stalled_then_spawned_again_after_backoff(
    session: tuple[Session, list[str]], tmp_path: Path
) -> None:
    run, said = session
    stalled = _child(Part("worker", ("worker",), Started()), tmp_path, 75)
    again = run._restarted_if_stalled(stalled)
    assert again is not stalled
    assert any("exited 75 (stalled): restart 1 of episode 1" in line for line in said)


def test_restart_when_other_exit_then_left_to_end_the_session(
    session: tuple[Session, list[str]], tmp_path: Path
) -> None:
    run, _ = session
    crashed = _child(Part("worker", ("worker",), Started()), tmp_path, 1)
    assert run._restarted_if_stalled(crashed) is crashed
    with pytest.raises(PartExitedError):
        crashed.check_alive()


def test_restart_when_attempts_spent_then_no_more(
    session: tuple[Session, list[str]], tmp_path: Path
) -> None:
    run, _ = session
    part = Part("worker", ("worker",), Started())
    results = [run._restarted_if_stalled(_child(part, tmp_path, 75)) for _ in range(4)]
    stalled_again = results[-1]
    assert stalled_again.process.returncode == 75  # the fourth failure: exhausted, not respawned
