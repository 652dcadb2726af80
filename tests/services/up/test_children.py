"""The parts as child processes: logs, exits seen, SIGTERM then SIGKILL (no broker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.localstack.process import is_running
from services.up.children import spawn, stop
from services.up.exceptions import PartExitedError, describe_exit
from services.up.plan import Part, Started

pytestmark = pytest.mark.timeout(30)


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_spawn_when_child_prints_then_its_output_is_in_its_log(tmp_path: Path) -> None:
    child = spawn(Part("echo", (), Started()), tmp_path, os.environ, python("print('hi')"))
    child.process.wait(10)

    assert (tmp_path / "echo.log").read_text() == "hi\n"


def test_check_alive_when_child_exited_then_names_it_with_its_code_and_log_tail(
    tmp_path: Path,
) -> None:
    code = "import sys; print('boom'); sys.exit(3)"
    child = spawn(Part("crasher", (), Started()), tmp_path, os.environ, python(code))
    child.process.wait(10)

    with pytest.raises(PartExitedError) as raised:
        child.check_alive()

    assert raised.value.part == "crasher"
    assert raised.value.code == 3
    assert "boom" in raised.value.tail
    assert "exit 3" in str(raised.value)


def test_stop_when_child_handles_sigterm_then_stopped_by_it(tmp_path: Path) -> None:
    child = spawn(Part("sleeper", (), Started()), tmp_path, os.environ, python(SLEEP))

    done = stop(child, grace=10, hurry=lambda: False)

    assert done.how == "SIGTERM"
    assert done.code == -signal.SIGTERM


def test_stop_when_child_ignores_sigterm_then_killed_after_grace(tmp_path: Path) -> None:
    child = spawn(Part("stubborn", (), Started()), tmp_path, os.environ, python(STUBBORN))
    time.sleep(0.5)  # let it install its handler

    done = stop(child, grace=0.5, hurry=lambda: False)

    assert done.how == "SIGKILL"
    assert done.code == -signal.SIGKILL


def test_stop_when_hurried_then_killed_without_waiting_out_the_grace(tmp_path: Path) -> None:
    child = spawn(Part("stubborn", (), Started()), tmp_path, os.environ, python(STUBBORN))
    time.sleep(0.5)

    done = stop(child, grace=60, hurry=lambda: True)

    assert done.how == "SIGKILL"
    assert done.seconds < 5


def test_spawn_when_child_started_then_it_runs_in_its_own_process_group(tmp_path: Path) -> None:
    child = spawn(Part("sleeper", (), Started()), tmp_path, os.environ, python(SLEEP))
    try:
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
    finally:
        stop(child, grace=10, hurry=lambda: False)


def test_spawn_when_hfos_up_is_killed_then_its_children_are_terminated(tmp_path: Path) -> None:
    """A parent that dies without stopping its parts (SIGKILL, OOM) takes them along."""
    parent_code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from services.up.children import spawn\n"
        "from services.up.plan import Part, Started\n"
        f"child = spawn(Part('orphan', (), Started()), Path({str(tmp_path)!r}), os.environ,"
        f" {python(SLEEP)!r})\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(python(parent_code), stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    orphan = int(parent.stdout.readline())
    assert is_running(orphan, "time.sleep(60)")

    parent.kill()
    parent.wait(10)

    deadline = time.monotonic() + 10
    while is_running(orphan, "time.sleep(60)") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_running(orphan, "time.sleep(60)")


def test_describe_exit_when_signalled_then_names_the_signal() -> None:
    assert describe_exit(-9) == "SIGKILL"
    assert describe_exit(0) == "exit 0"


SLEEP = "import time; time.sleep(60)"
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
