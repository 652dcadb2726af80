"""``hfos stack up | down | status``: the three servers as one unit.

``up`` is idempotent: a part whose process is alive and answers is left alone, a dead one
is started again on the ports it had (clients keep their addresses), a missing one gets
free loopback ports outside the kernel's ephemeral range (:func:`server_ports`). The parts
start in parallel and each is waited for by a real client
call; a part that exits or does not answer in time is named, with the tail of its log.
"""

from __future__ import annotations

import fcntl
import random
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.localstack import process
from services.localstack.exceptions import StackError
from services.localstack.parts import PARTS, Part
from services.localstack.paths import StackPaths
from services.localstack.state import PartState, StackState

# A cold Apicurio on a busy 2-core machine took ~15 s here; 180 s leaves a wide margin
# without letting a truly stuck start hang CI.
READY_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class PartStatus:
    name: str
    address: str
    pid: int | None
    running: bool
    healthy: bool
    problem: str | None


class LocalStack:
    """The local Kafka + Apicurio + Redis, rooted at ``paths``."""

    def __init__(self, paths: StackPaths | None = None) -> None:
        self.paths = paths or StackPaths.default()

    # -- reading -----------------------------------------------------------------------

    def state(self) -> StackState:
        return StackState.load(self.paths.state_file) or StackState()

    def part(self, name: str, state: StackState | None = None) -> Part:
        kind = next((kind for kind in PARTS if kind.name == name), None)
        if kind is None:
            raise StackError(name, f"unknown part; known: {', '.join(k.name for k in PARTS)}")
        recorded = (state or self.state()).parts.get(name)
        if recorded and len(recorded.ports) == kind.port_count:
            ports = recorded.ports
        else:
            ports = server_ports(kind.port_count)
        return kind(self.paths.part_dir(name), self.paths.cache, ports)

    def status(self, timeout: float = 2.0) -> list[PartStatus]:
        state = self.state()
        return [self._status_of(kind.name, state, timeout) for kind in PARTS]

    def _status_of(self, name: str, state: StackState, timeout: float) -> PartStatus:
        recorded = state.parts.get(name)
        if recorded is None:
            return PartStatus(name, "", None, running=False, healthy=False, problem="not started")
        part = self.part(name, state)
        running = process.is_running(recorded.pid, part.marker)
        problem = part.check(timeout) if running else "process not running"
        return PartStatus(name, recorded.address, recorded.pid, running, problem is None, problem)

    def is_up(self) -> bool:
        return all(status.healthy for status in self.status())

    def any_running(self) -> bool:
        """Whether any part's process is alive (healthy or not)."""
        return any(status.running for status in self.status(timeout=0.5))

    # -- changing ----------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One ``up``/``start``/``down`` at a time per stack directory: two at once (two
        terminals, or a test fixture and an operator) would write different ports into one
        broker's config and its state file."""
        self.paths.data.mkdir(parents=True, exist_ok=True)
        with (self.paths.data / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def up(self) -> StackState:
        """Start every part that is not already running and healthy; wait for all."""
        with self._exclusive():
            return self._up()

    def _up(self) -> StackState:
        state = self.state()
        starting: list[Part] = []
        for kind in PARTS:
            part = self.part(kind.name, state)
            recorded = state.parts.get(kind.name)
            if recorded and recorded.pid and process.is_running(recorded.pid, part.marker):
                # Alive: never restart it (a slow answer on a loaded machine is not a
                # crash); wait for it to answer like a fresh start.
                self._await_ready(part, recorded)
                continue
            state.parts[kind.name] = self._spawn(part)
            starting.append(part)
        state.save(self.paths.state_file)
        for part in starting:
            self._await_ready(part, state.parts[part.name])
        return state

    def start(self, name: str) -> None:
        """Start one part again on its recorded ports and data dir (after ``kill``)."""
        with self._exclusive():
            self._start(name)

    def _start(self, name: str) -> None:
        state = self.state()
        part = self.part(name, state)
        state.parts[name] = self._spawn(part)
        state.save(self.paths.state_file)
        self._await_ready(part, state.parts[name])

    def launch(self, name: str) -> PartState:
        """Start one part again on its recorded ports and data dir, without waiting for
        it to answer: the supervisor judges that with its own probe, and must not stall
        on a part that takes minutes. Raises :class:`StackError` when its port stays
        taken (10 s) or it cannot be started."""
        with self._exclusive():
            state = self.state()
            part = self.part(name, state)
            state.parts[name] = self._spawn(part)
            state.save(self.paths.state_file)
            return state.parts[name]

    def kill(self, name: str, *, wait: bool = True) -> None:
        """SIGKILL one part, as a crash would: no shutdown hook runs. With ``wait``, return
        once it is reaped (which a process we did not start waits for its reaper)."""
        state = self.state()
        recorded = state.parts.get(name)
        if recorded is not None:
            process.kill(recorded.pid or 0, self.part(name, state).marker, wait=wait)

    def stop(self, name: str) -> None:
        state = self.state()
        recorded = state.parts.get(name)
        if recorded is not None:
            process.stop(recorded.pid or 0, self.part(name, state).marker)

    def down(self, *, purge: bool = False) -> None:
        """Stop every part; with ``purge`` also delete their data and the state file."""
        with self._exclusive():
            for kind in reversed(PARTS):
                self.stop(kind.name)
            if purge:
                for child in self.paths.data.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    elif child.name != ".lock":
                        child.unlink(missing_ok=True)

    # -- internals ---------------------------------------------------------------------

    def _spawn(self, part: Part) -> PartState:
        argv = part.prepare()
        for port in part.ports:
            if not _wait_port_free(port, seconds=10.0):
                raise StackError(
                    part.name, f"port {port} is taken by another process", process.tail(part.log)
                )
        pid = process.spawn(argv, cwd=part.home, log=part.log)
        return PartState(address=part.address, ports=part.ports, pid=pid)

    def _await_ready(self, part: Part, recorded: PartState) -> None:
        """Until ``part`` answers; raises :class:`StackError` if its process exits first.

        Whether it exited is asked of the process table (``waitpid`` for a child of this
        process), not of its command line: redis-server rewrites its title a moment after
        exec by zeroing the command line and then writing the new one, and a read in
        between finds it empty (1 read in ~500 000 during start-ups, measured) - a CI run
        was told a freshly restarted Redis had "exited during start-up". The marker has
        already told ours from a stranger: :meth:`_up` checks it before it waits here,
        and a part spawned here is this process's own child."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        problem: str | None = "not checked"
        while time.monotonic() < deadline:
            if recorded.pid is None or process.gone(recorded.pid):
                raise StackError(part.name, "exited during start-up", process.tail(part.log))
            problem = part.check(2.0)
            if problem is None:
                part.after_ready()
                return
            time.sleep(0.25)
        raise StackError(
            part.name,
            f"not ready after {READY_TIMEOUT_SECONDS:.0f} s: {problem}",
            process.tail(part.log),
        )


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
SERVER_PORTS = range(20_000, 32_768)
"""Where the servers' ports are drawn from: below Linux's default ephemeral range
(32768-60999), from which the kernel picks the local port of every outgoing connection."""


def server_ports(count: int, ephemeral: range | None = None) -> list[int]:
    """``count`` free loopback ports outside the ephemeral range.

    A port the kernel handed out (``bind(0)``) lies in the ephemeral range, and while its
    server is down -- scenario 5 kills Redis for 60 s -- every client retrying it connects
    from a fresh ephemeral port: one of them is eventually given the server's own port and
    TCP connects to itself (simultaneous open), and any other outgoing connection may take
    it too. Either holds the port, and the server cannot start again on the address its
    clients know ("port is taken by another process"). Outside that range neither can
    happen.
    """
    ephemeral = ephemeral if ephemeral is not None else _ephemeral_range()
    pool = [p for p in SERVER_PORTS if p not in ephemeral and p not in _HANDED_OUT]
    chosen: list[int] = []
    for port in random.sample(pool, len(pool)):
        if _port_free(port):
            chosen.append(port)
            if len(chosen) == count:
                _HANDED_OUT.update(chosen)  # parts start in parallel, before any binds
                return chosen
    raise StackError("stack", f"no {count} free ports in {SERVER_PORTS}", "")


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> range:
    try:
        low, high = map(int, EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32_768, 60_999
    return range(low, high + 1)


def _wait_port_free(port: int, seconds: float) -> bool:
    """A port held by a server that is still exiting frees within a second or two."""
    deadline = time.monotonic() + seconds
    while not _port_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
