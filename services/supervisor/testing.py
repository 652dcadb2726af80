"""In-memory stand-ins for the supervisor's edges, so most of its tests need no broker:
a probe whose health a test sets, a recovery action that records its restarts, a journal
that keeps its entries, and an executor that runs an action at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from schemas.enums import RecoveryAction
from services.supervisor.episode import Episode
from services.supervisor.exceptions import JournalFencedError, RecoveryActionError
from services.supervisor.journal import Entry
from services.supervisor.probes import HEALTHY, Health, failing
from services.supervisor.records import state_from_record

P = ParamSpec("P")
T = TypeVar("T")


class SetProbe:
    """A probe answering whatever the test last set."""

    def __init__(self, health: Health = HEALTHY) -> None:
        self.health = health

    def check(self) -> Health:
        return self.health

    def fail(self, detail: str = "down", incarnation: str | None = None) -> None:
        self.health = failing(detail, incarnation)

    def heal(self, incarnation: str | None = None) -> None:
        self.health = Health(ok=True, incarnation=incarnation)


class RecordingAction:
    """A recovery action that counts its restarts; ``refuse`` makes the next ones raise,
    ``alive`` makes attempts wait, ``exit_with`` reports the started process exited."""

    def __init__(self, name: str = "part") -> None:
        self.name = name
        self.restarts = 0
        self.refuse: str | None = None
        self.alive: str | None = None
        self.exit_with: str | None = None

    @property
    def kind(self) -> RecoveryAction:
        return RecoveryAction.CHILD_PROCESS

    def blocked(self) -> str | None:
        return self.alive

    def restart(self) -> None:
        self.restarts += 1
        if self.refuse is not None:
            raise RecoveryActionError(self.name, self.refuse)

    def failed(self) -> str | None:
        return self.exit_with


class MemoryJournal:
    """Keeps every entry, in order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.fenced_by: JournalFencedError | None = None

    def append(self, entry: Entry) -> None:
        self.entries.append(entry)

    def fenced(self) -> JournalFencedError | None:
        return self.fenced_by

    def lines(self, subsystem: str | None = None) -> list[dict[str, Any]]:
        return [
            dict(line)
            for entry in self.entries
            if subsystem in {None, entry.subsystem}
            for line in entry.lines
        ]

    def escalations(self) -> list[dict[str, Any]]:
        return [dict(e.escalation) for e in self.entries if e.escalation is not None]

    def states(self) -> dict[str, Episode]:
        """The last state of each subsystem, as a restarted supervisor would read it."""
        return {entry.subsystem: state_from_record(entry.state) for entry in self.entries}


class InlineExecutor(Executor):
    """Runs each submitted call at once, in the caller's thread."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(error)
        return future
