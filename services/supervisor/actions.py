"""How the supervisor recovers a subsystem: one small interface, three kinds.

- a child process of its own (``hfos up``'s parts: :mod:`services.up.supervised`);
- a part of the local stack (:class:`StackRestart`);
- nothing at all where the platform restarts processes itself (Kubernetes, with its
  liveness probes): the supervisor only counts the restarts it sees in the heartbeats
  (:data:`PLATFORM`, no action object).

An action starts a process that is not running; it never kills a live one. A process that
is alive but not answering — slow on a loaded machine, stalled, DEGRADED — is left to its
own watchdog or the platform's liveness probe, and the due attempt waits for it to exit
(:meth:`Restarter.blocked`). The supervisor restarts what crashed; it does not turn a slow
answer into a crash.
"""

from __future__ import annotations

from typing import Protocol

from schemas.enums import RecoveryAction
from services.localstack import process
from services.localstack.exceptions import StackError
from services.localstack.stack import LocalStack
from services.localstack.state import PartState
from services.supervisor.exceptions import RecoveryActionError

PLATFORM = RecoveryAction.PLATFORM


class Restarter(Protocol):
    """One subsystem's recovery action. :meth:`restart` runs in a thread of its own (it
    may take seconds); the other two are quick and called from the supervising loop."""

    @property
    def kind(self) -> RecoveryAction: ...

    def blocked(self) -> str | None:
        """Why an attempt cannot start now (the process is still alive), else None."""

    def restart(self) -> None:
        """Start the process again; :class:`RecoveryActionError` if that cannot be done."""

    def failed(self) -> str | None:
        """Why the attempt in progress failed for certain (its process exited), else None."""


class StackRestart:
    """Start a part of the local stack (``kafka``, ``registry``, ``redis``) again on its
    recorded ports and data dir, after it died."""

    def __init__(self, stack: LocalStack, part: str) -> None:
        self._stack, self._part = stack, part
        self._launched: PartState | None = None

    @property
    def kind(self) -> RecoveryAction:
        return RecoveryAction.STACK_PART

    def blocked(self) -> str | None:
        state = self._stack.state()
        recorded = state.parts.get(self._part)
        marker = self._stack.part(self._part, state).marker
        if recorded is not None and recorded.pid and self._alive(recorded.pid, marker):
            return f"{self._part} (pid {recorded.pid}) is still running; it is not killed"
        return None

    def restart(self) -> None:
        self._launched = None
        try:
            self._launched = self._stack.launch(self._part)
        except StackError as error:
            raise RecoveryActionError(self._part, error.problem) from None

    def failed(self) -> str | None:
        launched = self._launched
        if launched is None or launched.pid is None:
            return None
        part = self._stack.part(self._part)
        # Our own child: its pid says whether it exited. Its command line would not -
        # redis-server zeroes it for a moment while it rewrites its title (LocalStack).
        if not process.gone(launched.pid):
            return None
        last = process.tail(part.log, 3).replace("\n", " | ")
        return f"{self._part} (pid {launched.pid}) exited during start-up: {last}"

    @staticmethod
    def _alive(pid: int, marker: str) -> bool:
        process.exited(pid)  # reap it if it is our child and gone, so it is not a zombie
        return process.is_running(pid, marker)
