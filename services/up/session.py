"""One ``hfos up`` session: start the parts in order, watch them, stop them in reverse.

A part that fails to start ends the session: the others are stopped and the session
fails, naming the part with the end of its log. Once every part is ready, the supervisor
(:mod:`services.up.supervised`, SPEC §7) owns them: a part that exits — a worker whose
watchdog gave up on a stalled partition (exit 75), a crash, a kill — is started again
with the backoff (1, 2, 4, 8, 16 s), every step in the recovery history, and a critical
part that does not come back escalates to the emergency stop instead of ending the
session. Without a supervisor (``supervise`` None), a part that exits ends the session.
A requested stop (Ctrl-C, SIGTERM, the end of ``--duration``) stops the supervisor, then
every part the same way, and succeeds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.up.children import Child, Stopped, spawn, stop
from services.up.exceptions import PartExitedError, PartNotReadyError, describe_exit
from services.up.plan import STOP_GRACE_SECONDS, Part, part_environ
from services.up.readiness import HeartbeatWatch, wait_ready
from services.up.supervised import ChildSlot, SessionSupervision
from services.up.watch import SessionWatch

Say = Callable[[str], None]
Supervise = Callable[[Mapping[str, ChildSlot], Say], SessionSupervision]
"""Starts the supervisor over the session's parts (``services.cli.up`` builds it)."""


@dataclass
class StopRequest:
    """Set by signal handlers: a first request stops gracefully, a second one hurries
    (SIGKILL without waiting out the grace)."""

    requested: threading.Event = field(default_factory=threading.Event)
    hurried: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    silenced: bool = False

    def request(self, reason: str) -> None:
        if self.requested.is_set():
            self.hurried.set()
            return
        self.reason = reason
        self.requested.set()


@dataclass(frozen=True)
class Servers:
    kafka: Mapping[str, str]
    serde: AvroSerde
    names: TopicNames


@dataclass(frozen=True)
class Outcome:
    ok: bool
    ready_after: float | None
    """Seconds from the first spawn until every part was ready; None if they never were."""
    stopped: tuple[Stopped, ...]


class Session:
    def __init__(  # noqa: PLR0913 - the session's collaborators, each injected
        self,
        servers: Servers,
        parts: tuple[Part, ...],
        log_dir: Path,
        environ: Mapping[str, str],
        say: Say,
        stop_request: StopRequest,
        status_every: float = 5.0,
        supervise: Supervise | None = None,
    ) -> None:
        self._servers, self._parts, self._log_dir = servers, parts, log_dir
        self._environ, self._out, self._stop = environ, say, stop_request
        self._status_every = status_every
        self._children: list[Child] = []
        self._supervise = supervise
        self._slots: dict[str, ChildSlot] = {}
        self._supervision: SessionSupervision | None = None

    def _say(self, text: str) -> None:
        """Print a line; when the output is gone (a closed pipe), stop the session — the
        parts are still stopped in order, silently."""
        if self._stop.silenced:
            return
        try:
            self._out(text)
        except OSError:
            self._stop.silenced = True
            self._stop.request("output closed")

    def run(self, duration: float | None) -> Outcome:
        """Start, watch until a stop (or ``duration`` seconds after all are ready), stop."""
        since_ms = int(time.time() * 1000)
        watch = SessionWatch(
            self._servers.kafka, self._servers.serde, self._servers.names, since_ms
        )
        ok, ready_after = False, None
        try:
            ready_after = self._start_all(since_ms)
            if ready_after is not None:
                self._say(f"all {len(self._parts)} parts ready in {ready_after:.1f} s")
                self._start_supervision()
                self._watch(watch, duration)
            ok = True
        except (PartExitedError, PartNotReadyError) as failure:
            self._stop.reason = self._stop.reason or f"{failure.part} failed"
            self._say(f"FAILED: {failure}")
            self._say(_indent(failure.tail))
        finally:
            if self._supervision is not None:
                self._supervision.stop()
                self._children = [self._slots[c.name].current() for c in self._children]
            stopped = self._stop_all()
            watch.drain(5.0)
            self._say(f"session: {watch.tally.line()}")
            watch.close()
        return Outcome(ok, ready_after, stopped)

    def _start_all(self, since_ms: int) -> float | None:
        """Spawn the parts in order, each once the one before is ready; the seconds it
        took, or None when a stop was requested meanwhile."""
        beats = HeartbeatWatch(
            self._servers.kafka, self._servers.serde, self._servers.names, since_ms
        )
        first = time.monotonic()
        try:
            for part in self._parts:
                child = spawn(part, self._log_dir, part_environ(self._environ, self._parts, part))
                self._children.append(child)
                self._say(f"{part.name:9} pid {child.pid:<7} log {child.log}")
                if not wait_ready(child, self._children, beats, self._stop.requested.is_set):
                    return None
                self._say(f"{part.name:9} ready in {time.monotonic() - child.spawned_at:.1f} s")
        finally:
            beats.close()
        return time.monotonic() - first

    def _start_supervision(self) -> None:
        if self._supervise is None:
            return
        for child in self._children:
            self._slots[child.name] = ChildSlot(
                child, self._respawner(child.part), owner_spawns=True
            )
        self._supervision = self._supervise(self._slots, self._say)
        self._say(f"supervisor: {self._supervision.summary()} (hfos recovery history)")

    def _respawner(self, part: Part) -> Callable[[], Child]:
        return lambda: spawn(part, self._log_dir, part_environ(self._environ, self._parts, part))

    def _watch(self, watch: SessionWatch, duration: float | None) -> None:
        started = time.monotonic()
        end = None if duration is None else started + duration
        next_line = started + self._status_every
        while not self._stop.requested.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                self._stop.request(f"--duration {duration:g} s elapsed")
                break
            if self._supervision is None or self._supervision.failure is not None:
                # No supervisor (or it stopped: fenced by another one): an exit ends it.
                for child in self._children:
                    child.check_alive()
            else:
                for slot in self._slots.values():
                    slot.serve()
                self._children = [self._slots[c.name].current() for c in self._children]
            watch.poll(0.2)
            if now >= next_line:
                self._say(f"{now - started:6.0f} s  {watch.tally.line()}{self._recovery()}")
                next_line += self._status_every

    def _recovery(self) -> str:
        return "" if self._supervision is None else f" | {self._supervision.summary()}"

    def _stop_all(self) -> tuple[Stopped, ...]:
        if not self._children:
            return ()
        why = self._stop.reason or "an error"
        order = ", ".join(c.name for c in reversed(self._children))
        self._say(f"stopping ({why}): {order} — SIGTERM, up to {STOP_GRACE_SECONDS:.0f} s each")
        results = []
        for child in reversed(self._children):
            done = stop(child, STOP_GRACE_SECONDS, self._stop.hurried.is_set)
            self._say(
                f"{done.name:9} pid {done.pid:<7} {describe_exit(done.code)} "
                f"({done.how}, {done.seconds:.1f} s)"
            )
            results.append(done)
        return tuple(results)


def _indent(text: str) -> str:
    return "\n".join(f"  | {line}" for line in text.splitlines()) or "  | (empty log)"
