"""Starting, finding and stopping the stack's server processes.

Servers run in their own session (``start_new_session``) so they outlive the ``hfos stack
up`` that started them, and are stopped by process group so no child is left behind.
A pid is only trusted when ``/proc/<pid>/cmdline`` still holds the part's marker (its data
directory, or for Redis, which rewrites its title, its address),
so a recycled pid is never mistaken for our server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

# Every process spawned here, until ``exited`` sees it gone. Holding the ``Popen`` keeps
# its exit status ours: a dropped ``Popen`` reaps its child in ``__del__`` if it has exited
# already, else joins ``subprocess._active``, which the next ``Popen`` anywhere in the
# process reaps. A part that exits at once (``false``; a server refusing its config) was
# so reaped before anyone looked (a CI run: ``waitid`` found no child to wait for).
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(argv: list[str], cwd: Path, log: Path) -> int:
    """Start ``argv`` detached, appending its output to ``log``; returns the pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _children[child.pid] = child
    return child.pid


def is_running(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is alive and still one of ours (its command line names ``marker``)."""
    if pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = _state(stat) == "Z"
    return not zombie and marker.encode() in cmdline


def exited(pid: int) -> bool:
    """Reap ``pid`` if it is our child and has exited; True when it is gone."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return False
        _children.pop(pid, None)
        return True
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not Path(f"/proc/{pid}").exists()
    return done == pid


def stop(pid: int, marker: str, grace_seconds: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace_seconds``.

    20 s covers Kafka's controlled shutdown on one node (about 5 s here) with room to spare.
    """
    if not is_running(pid, marker):
        return
    _signal_group(pid, signal.SIGTERM)
    if not _wait_gone(pid, grace_seconds):
        kill(pid, marker)


def kill(pid: int, marker: str, *, wait: bool = True) -> None:
    """SIGKILL the process group at once (a crash, as the failover tests need it); with
    ``wait``, return once it is reaped."""
    if not is_running(pid, marker):
        return
    _signal_group(pid, signal.SIGKILL)
    if wait:
        _wait_gone(pid, 10.0)


def _wait_gone(pid: int, seconds: float) -> bool:
    """Wait until the process is dead: reaped, or a zombie none of whose threads still
    runs. A zombie group leader alone is not enough -- its other threads may still hold
    the listening sockets, so a restart would find the port taken -- but a process we did
    not start is reaped by whoever adopted it, when it gets round to it: this machine's
    init reaps orphans every ~1.5 s (measured), and in that window a supervisor under test
    can start Redis again on the port the test is about to hold -- the likely cause of the
    supervisor's Redis test failing "Address already in use" once (inferred, not traced)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return False


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited: reaped here if it is our child, else dead in the
    process table (a zombie waiting for its reaper counts). Reads no command line."""
    return exited(pid) or _dead(pid)


def _dead(pid: int) -> bool:
    """Every thread of ``pid`` has exited (its resources, sockets included, are released;
    only the exit status waits to be collected)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return True
    for task in tasks:
        try:
            state = _state((task / "stat").read_text())
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return False
    return True


def _state(stat: str) -> str:
    """The state letter of a ``/proc/<pid>/stat`` line (the field after the name, which
    may hold spaces and parentheses itself)."""
    return stat.rsplit(")", 1)[-1].split()[0]


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or an empty string."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
