"""One ``hfos up`` session: start the parts in order, watch them, stop them in reverse.

A part that exits while the session needs it ends the session: the others are stopped and
the session fails, naming the part with the end of its log. The one exception is a worker
whose watchdog gave up on a stalled partition (exit 75, :data:`EXIT_STALLED`): it is
started again with the SPEC §7 backoff (1, 2, 4, 8, 16 s), and the session fails only when
those five attempts are spent without 30 s of the part staying up. A requested stop (Ctrl-C,
SIGTERM, the end of ``--duration``) stops every part the same way and succeeds.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.supervisor.backoff import Exhausted, Phase, Supervision, on_success
from services.supervisor.backoff import on_failure as backoff_on_failure
from services.up.children import Child, Stopped, spawn, stop
from services.up.exceptions import PartExitedError, PartNotReadyError, describe_exit
from services.up.plan import STOP_GRACE_SECONDS, Part, part_environ
from services.up.readiness import HeartbeatWatch, wait_ready
from services.up.watch import SessionWatch
from streams.watchdog import EXIT_STALLED

Say = Callable[[str], None]
HEALTHY_AFTER_SECONDS = 30.0
on_failure = backoff_on_failure
"""The SPEC §7 backoff step (a module name, so a test can shorten the delays)."""
"""A restarted part that stays up this long ends its failure episode (backoff resets)."""


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
    def __init__(
        self,
        servers: Servers,
        parts: tuple[Part, ...],
        log_dir: Path,
        environ: Mapping[str, str],
        say: Say,
        stop_request: StopRequest,
        status_every: float = 5.0,
    ) -> None:
        self._servers, self._parts, self._log_dir = servers, parts, log_dir
        self._environ, self._out, self._stop = environ, say, stop_request
        self._status_every = status_every
        self._children: list[Child] = []
        self._supervision: dict[str, Supervision] = {}
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography

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
                self._watch(watch, duration)
            ok = True
        except (PartExitedError, PartNotReadyError) as failure:
            self._stop.reason = self._stop.reason or f"{failure.part} failed"
            self._say(f"FAILED: {failure}")
            self._say(_indent(failure.tail))
        finally:
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

    def _watch(self, watch: SessionWatch, duration: float | None) -> None:
        started = time.monotonic()
        end = None if duration is None else started + duration
        next_line = started + self._status_every
        while not self._stop.requested.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                self._stop.request(f"--duration {duration:g} s elapsed")
                break
            self._children = [self._restarted_if_stalled(c) for c in self._children]
            for child in self._children:
                child.check_alive()
            watch.poll(0.2)
            if now >= next_line:
                self._say(f"{now - started:6.0f} s  {watch.tally.line()}")
                next_line += self._status_every

    def _restarted_if_stalled(self, child: Child) -> Child:
        """``child`` again (backoff permitting) when it exited as stalled; else itself."""
        state = self._supervision.setdefault(child.name, Supervision(child.name))
        if child.process.poll() != EXIT_STALLED:
            if (
                state.phase is not Phase.HEALTHY
                and time.monotonic() - child.spawned_at > HEALTHY_AFTER_SECONDS
            ):
                self._supervision[child.name] = on_success(state)
            return child
        state, step = on_failure(state, int(time.time() * 1000), self._random)
        self._supervision[child.name] = state
        if isinstance(step, Exhausted):
            return child  # check_alive() ends the session with its log
        self._say(
            f"{child.name:9} exited {EXIT_STALLED} (stalled): restart {step.attempt} of "
            f"episode {step.episode} in {step.delay_seconds:.1f} s"
        )
        if self._stop.requested.wait(step.delay_seconds):
            return child
        again = spawn(
            child.part, self._log_dir, part_environ(self._environ, self._parts, child.part)
        )
        self._say(f"{again.name:9} pid {again.pid:<7} restarted, log {again.log}")
        return again

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
