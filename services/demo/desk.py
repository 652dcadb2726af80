"""A scenario's desk: the services ``hfos up`` runs — stream worker, executor, paper
exchange (and the position monitor, where this build has one) — as child processes on
the scenario's topic prefix, under the same supervisor, minus the simulator, which the
scenario drives itself.

The parts start together (each waits for the others through Kafka on its own: the
executor refuses signals until the worker's policy and heartbeat arrive) and the script
begins once every one is ready. One thread owns the children, as ``hfos up``'s main loop
does: it starts them, serves the supervisor's restarts (a child is tied to the thread that
started it, ``services.up.children``) and stops them in reverse order.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.demo.exceptions import DeskStartError
from services.localstack.process import tail
from services.localstack.stack import LocalStack
from services.settings import Settings
from services.supervisor.config import SupervisorConfig
from services.supervisor.service import Servers as SupervisedServers
from services.up.children import HFOS, Child, spawn, stop
from services.up.exceptions import PartExitedError, PartNotReadyError
from services.up.plan import STOP_GRACE_SECONDS, Part, SessionConfig, part_environ, plan
from services.up.readiness import HeartbeatWatch, wait_ready
from services.up.supervised import ChildSlot, SessionSupervision

SIMULATOR = "simulator"


def desk_parts(accounts: Sequence[str], symbols: Sequence[str]) -> tuple[Part, ...]:
    """``hfos up``'s parts for these accounts, without the simulator."""
    config = SessionConfig(accounts=tuple(accounts), symbols=tuple(symbols))
    return tuple(part for part in plan(config) if part.name != SIMULATOR)


def available_parts() -> tuple[str, ...]:
    """The services this build's ``hfos up`` runs (``monitor`` once it has one)."""
    return tuple(part.name for part in desk_parts(("probe",), ("PROBE",)))


class RunningDesk:
    """The desk's children, owned by one thread from :meth:`start` to :meth:`stop`."""

    def __init__(
        self,
        parts: tuple[Part, ...],
        environ: Mapping[str, str],
        log_dir: Path,
        supervised: tuple[SupervisedServers, SupervisorConfig, LocalStack | None],
        commands: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._parts, self._environ, self._log_dir = parts, dict(environ), log_dir
        self._supervised = supervised
        self._commands = dict(commands or {})
        self._log = log_dir / "desk.log"
        self._children: list[Child] = []
        self._slots: dict[str, ChildSlot] = {}
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._failure: Exception | None = None
        self._supervision: SessionSupervision | None = None
        self._thread = threading.Thread(target=self._own, name="demo-desk", daemon=True)

    def start(self, kafka: Mapping[str, str], serde: AvroSerde, names: TopicNames) -> float:
        """Start every part and wait until all are ready; the seconds it took."""
        started = time.monotonic()
        self._beats = HeartbeatWatch(kafka, serde, names, int(time.time() * 1000))
        self._thread.start()
        while not self._ready.wait(0.1):
            if self._failure is not None or not self._thread.is_alive():
                raise self._start_error()
        return time.monotonic() - started

    def _start_error(self) -> DeskStartError:
        failure = self._failure
        if isinstance(failure, PartExitedError | PartNotReadyError):
            return DeskStartError(failure.part, str(failure), failure.tail)
        return DeskStartError("desk", f"could not start: {failure!r}", tail(self._log, 20))

    def _say(self, text: str) -> None:
        with self._log.open("a") as sink:
            sink.write(f"{time.strftime('%H:%M:%S')} {text}\n")

    def _own(self) -> None:
        try:
            self._spawn_all()
            self._supervise()
            self._ready.set()
            while not self._stopping.wait(0.2):
                for slot in self._slots.values():
                    slot.serve()
        except Exception as error:  # noqa: BLE001 - handed to start(), which raises it
            self._failure = error
        finally:
            self._stop_all()

    def _spawn_all(self) -> None:
        try:
            for part in self._parts:
                self._children.append(self._spawn(part))
            for child in self._children:
                if not wait_ready(child, self._children, self._beats, self._stopping.is_set):
                    return
                self._say(f"{child.name} ready in {time.monotonic() - child.spawned_at:.1f} s")
        finally:
            self._beats.close()

    def _spawn(self, part: Part) -> Child:
        command = self._commands.get(part.name, HFOS)
        env = part_environ(self._environ, self._parts, part)
        child = spawn(part, self._log_dir, env, command)
        self._say(f"{part.name} pid {child.pid} log {child.log}")
        return child

    def _supervise(self) -> None:
        servers, config, stack = self._supervised
        for child in self._children:
            self._slots[child.name] = ChildSlot(
                child, functools.partial(self._spawn, child.part), owner_spawns=True
            )
        self._supervision = SessionSupervision(servers, config, self._slots, stack, self._say)

    def stop(self) -> None:
        """Stop supervising, then every part in reverse order (SIGTERM, then SIGKILL)."""
        self._stopping.set()
        self._thread.join(len(self._parts) * (STOP_GRACE_SECONDS + 15))

    def _stop_all(self) -> None:
        if self._supervision is not None:
            self._supervision.stop()
        current = [
            self._slots[c.name].current() if c.name in self._slots else c for c in self._children
        ]
        for child in reversed(current):
            done = stop(child, STOP_GRACE_SECONDS, lambda: False)
            self._say(
                f"{done.name} pid {done.pid} exit {done.code} ({done.how}, {done.seconds:.1f} s)"
            )


def supervised(
    settings: Settings, serde: AvroSerde, names: TopicNames, local: bool
) -> tuple[SupervisedServers, SupervisorConfig, LocalStack | None]:
    """The supervisor ``hfos up`` runs, on the scenario's prefix; it restarts the local
    stack's parts when the demo runs on the local stack."""
    servers = dataclasses.replace(SupervisedServers.of(settings, serde), names=names)
    return servers, SupervisorConfig(restart_stack=local), LocalStack() if local else None
