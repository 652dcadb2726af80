"""The parts as child processes: spawned with their output in a log, stopped in order.

Each child runs in its own session, so a Ctrl-C in the terminal reaches ``hfos up`` alone
and the parts are stopped in the planned order rather than all at once. Each also asks
Linux to SIGTERM it when ``hfos up`` dies (``PR_SET_PDEATHSIG``): a killed ``hfos up``
leaves no trading process running on its own.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.localstack.process import tail
from services.up.exceptions import PartExitedError
from services.up.plan import Part

HFOS = (sys.executable, "-m", "services.cli.main")
"""The command a part's arguments follow: this interpreter's ``hfos``, so each child's pid
is the part's own process (no wrapper script in between)."""
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass
class Child:
    part: Part
    process: subprocess.Popen[bytes]
    log: Path
    spawned_at: float
    """``time.monotonic()`` at spawn."""

    @property
    def name(self) -> str:
        return self.part.name

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        """Raise :class:`PartExitedError` (with the end of its log) if it has exited."""
        code = self.process.poll()
        if code is not None:
            raise PartExitedError(self.name, self.pid, code, self.log, tail(self.log, 20))


@dataclass(frozen=True)
class Stopped:
    name: str
    pid: int
    code: int
    how: str
    """``SIGTERM``, ``SIGKILL`` or ``had exited``."""
    seconds: float


def spawn(
    part: Part, log_dir: Path, environ: Mapping[str, str], command: Sequence[str] = HFOS
) -> Child:
    """Start ``hfos <part.args>`` with stdout and stderr appended to ``<log_dir>/<name>.log``."""
    log = log_dir / f"{part.name}.log"
    parent = os.getpid()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*command, *part.args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(environ),
            start_new_session=True,
            preexec_fn=lambda: _die_with(parent),  # noqa: PLW1509 - one libc call, then exec
        )
    return Child(part, process, log, time.monotonic())


def _die_with(parent: int) -> None:
    """In the child before exec: SIGTERM when the parent dies; exit if it already has."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def stop(child: Child, grace: float, hurry: Callable[[], bool]) -> Stopped:
    """SIGTERM, wait up to ``grace`` seconds (less if ``hurry()`` turns true), then SIGKILL
    the child's whole process group."""
    started = time.monotonic()
    code = child.process.poll()
    if code is not None:
        return Stopped(child.name, child.pid, code, "had exited", 0.0)
    child.process.send_signal(signal.SIGTERM)
    deadline = started + grace
    while time.monotonic() < deadline and not hurry():
        code = child.process.poll()
        if code is not None:
            return Stopped(child.name, child.pid, code, "SIGTERM", time.monotonic() - started)
        time.sleep(0.05)
    _kill_group(child.pid)
    code = child.process.wait(10)
    return Stopped(child.name, child.pid, code, "SIGKILL", time.monotonic() - started)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
