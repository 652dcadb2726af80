"""``hfos up``'s parts under the supervisor (SPEC §7): each part is a child process the
supervisor starts again when it exits, with the backoff, the history and — for the
stream worker and the price feed — the escalation of every other subsystem.

| part | subsystem | failing when | critical |
|---|---|---|---|
| worker | ``service:hfos-streams`` | it exited, or its heartbeat is missing / DEGRADED | yes |
| executor | ``service:hfos-executor`` | it exited | no |
| exchange | ``service:hfos-exchange`` | it exited | no |
| monitor | ``service:hfos-monitor`` | it exited | no |
| simulator | ``price-feed`` | it exited, or the newest price is too old | yes |

Kafka, the registry and Redis are supervised too; the local stack's parts are restarted
when ``hfos up`` started that stack.
"""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from schemas.enums import RecoveryAction
from services.localstack.process import tail
from services.localstack.stack import LocalStack
from services.supervisor.config import PRICE_FEED, SupervisorConfig, service_subsystem
from services.supervisor.exceptions import RecoveryActionError
from services.supervisor.loop import Unit
from services.supervisor.probes import HEALTHY, Health, Probe, failing
from services.supervisor.service import RunningSupervisor, Servers
from services.up.children import Child
from services.up.exceptions import describe_exit
from streams.heartbeat import SERVICE as STREAM_WORKER

SUBSYSTEMS = {
    "worker": service_subsystem(STREAM_WORKER),
    "executor": service_subsystem("hfos-executor"),
    "exchange": service_subsystem("hfos-exchange"),
    "monitor": service_subsystem("hfos-monitor"),
    "simulator": PRICE_FEED,
}
"""hfos up's part -> the subsystem it serves."""
RESPAWN_TIMEOUT_SECONDS = 30.0
"""The session's loop serves a request within ~0.2 s (its poll); 30 s means it is stuck."""


@dataclass
class _Respawn:
    done: threading.Event = field(default_factory=threading.Event)
    child: Child | None = None
    error: Exception | None = None


class ChildSlot:
    """The current process of one part: the supervisor replaces it, the session stops
    whichever is current.

    With ``owner_spawns`` the new process is started by the owner's thread (the session's
    main loop calls :meth:`serve`), not by the supervisor's: a part asks Linux to SIGTERM
    it when the *thread* that started it ends (``PR_SET_PDEATHSIG``, services/up/children),
    and the supervisor's threads end before the parts are stopped in order."""

    def __init__(
        self, child: Child, respawn: Callable[[], Child], *, owner_spawns: bool = False
    ) -> None:
        self._child, self._respawn, self._owner_spawns = child, respawn, owner_spawns
        self._lock = threading.Lock()
        self._requests: list[_Respawn] = []

    @property
    def name(self) -> str:
        return self._child.name

    def current(self) -> Child:
        with self._lock:
            return self._child

    def respawn(self, timeout: float = RESPAWN_TIMEOUT_SECONDS) -> Child:
        """Start the part again and return its new process."""
        if not self._owner_spawns:
            return self._replace(self._respawn())
        request = _Respawn()
        with self._lock:
            self._requests.append(request)
        if not request.done.wait(timeout):
            raise RecoveryActionError(self.name, f"not started within {timeout:g} s")
        if request.child is None:
            raise RecoveryActionError(self.name, f"cannot start: {request.error}")
        return request.child

    def serve(self) -> None:
        """In the owner's thread: start what the supervisor asked for."""
        with self._lock:
            pending, self._requests = self._requests, []
        for request in pending:
            try:
                request.child = self._replace(self._respawn())
            except OSError as error:
                request.error = error
            request.done.set()

    def _replace(self, child: Child) -> Child:
        with self._lock:
            self._child = child
        return child


def exited(child: Child) -> str | None:
    """How ``child`` ended, with the last lines of its log; None while it runs."""
    code = child.process.poll()
    if code is None:
        return None
    last = tail(child.log, 3).replace("\n", " | ")
    return f"{child.name} (pid {child.pid}) exited with {describe_exit(code)}: {last}"


class ChildRestart:
    """Start the part again once its process has exited (a live one is never killed: a
    stalled worker exits 75 on its own, see streams/watchdog.py)."""

    def __init__(self, slot: ChildSlot, on_spawn: Callable[[Child], None]) -> None:
        self._slot, self._on_spawn = slot, on_spawn
        self._restarted: Child | None = None

    @property
    def kind(self) -> RecoveryAction:
        return RecoveryAction.CHILD_PROCESS

    def blocked(self) -> str | None:
        child = self._slot.current()
        if child.process.poll() is None:
            return f"{child.name} (pid {child.pid}) is still running; it is not killed"
        return None

    def restart(self) -> None:
        self._restarted = self._slot.respawn()
        self._on_spawn(self._restarted)

    def failed(self) -> str | None:
        return None if self._restarted is None else exited(self._restarted)


class ChildProbe:
    """Failing the moment the part's process has exited; otherwise ``inner`` decides
    (heartbeats, prices), or the part is healthy while it runs."""

    def __init__(self, slot: ChildSlot, inner: Probe | None) -> None:
        self._slot, self._inner = slot, inner

    def check(self) -> Health:
        ended = exited(self._slot.current())
        if ended is not None:
            return failing(ended)
        return HEALTHY if self._inner is None else self._inner.check()


class SessionSupervision:
    """The supervisor of one ``hfos up`` session, in a thread of its own."""

    def __init__(
        self,
        servers: Servers,
        config: SupervisorConfig,
        slots: Mapping[str, ChildSlot],
        stack: LocalStack | None,
        say: Callable[[str], None],
    ) -> None:
        self._slots, self._say, self._config = slots, say, config
        self.running = RunningSupervisor(
            servers,
            config,
            stack=stack,
            adapt=self._adapt,
            say=lambda line: say(f"recovery  {line}"),
        )
        self._stop = threading.Event()
        self.failure: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="hfos-up-supervisor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.running.run(self._stop)
        except Exception as error:  # noqa: BLE001 - reported on the live line, the parts run on
            self.failure = error
            self._say(f"recovery  SUPERVISOR STOPPED: {error}")

    def stop(self) -> None:
        """Stop supervising (before the parts are stopped, so none is started again)."""
        self._stop.set()
        self._thread.join(10)
        self.running.close()

    def summary(self) -> str:
        """The open episodes, for the live line."""
        open_ = [
            f"{state.subsystem} {state.phase.value} (episode {state.episode}, "
            f"attempt {state.attempt})"
            for state in self.running.supervisor.states.values()
            if state.open
        ]
        return "recovery: " + ("; ".join(open_) if open_ else "all healthy")

    def _adapt(self, units: list[Unit], running: RunningSupervisor) -> list[Unit]:
        return as_children(units, self._slots, self._config, self._spawned, running.heartbeats)

    def _spawned(self, child: Child) -> None:
        self._say(f"{child.name:9} pid {child.pid:<7} restarted, log {child.log}")


Beats = Callable[[str, Callable[[], str]], Probe]
"""The heartbeat probe of a service, restricted to one instance (RunningSupervisor)."""


def own_instance(slot: ChildSlot) -> str:
    """The instance name the current process beats with (``streams.heartbeat``)."""
    return f"{socket.gethostname()}-{slot.current().pid}"


def as_children(
    units: list[Unit],
    slots: Mapping[str, ChildSlot],
    config: SupervisorConfig,
    on_spawn: Callable[[Child], None],
    beats: Beats | None = None,
) -> list[Unit]:
    """The standard units, with each part's subsystem recovered as a child process. Its
    probe: failing when the process has exited, else the standard probe — for the worker,
    its heartbeats restricted to the child's own instance (``beats``), so a replica that
    beats elsewhere never passes for a child that is still starting."""
    by_name = {unit.name: unit for unit in units}
    for part, slot in slots.items():
        subsystem = SUBSYSTEMS.get(part)
        if subsystem is None:
            continue
        standard = by_name.get(subsystem)
        inner = standard.probe if standard else None
        if part == "worker" and beats is not None:
            inner = beats(STREAM_WORKER, functools.partial(own_instance, slot))
        action = ChildRestart(slot, on_spawn)
        by_name[subsystem] = Unit(
            config.rules(subsystem, schedules=True),
            ChildProbe(slot, inner),
            action,
            action.kind,
        )
    return list(by_name.values())
