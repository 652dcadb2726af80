"""The contract between a scenario and the machinery that runs it.

A scenario is a :class:`Scenario`: what desk it needs, a ``drive`` that scripts the market
and the operator against a :class:`Driver`, and a pure ``judge`` that reads the events
back. Scenarios import no Kafka client: the runner hands them a driver whose edges are the
real simulator, the ``hfos`` CLI and the local stack.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.demo.events import EventLog
from services.demo.model import Facts, Judgement, OperatorRun


class ScenarioAborted(Exception):  # noqa: N818 - a scenario's end, not a program error
    """A drive step that could not happen (a wait that timed out, a command refused):
    the scenario is judged on what happened until then, and fails with this reason."""


class Chaos(Protocol):
    """Killing and restarting servers of the local stack (scenario 5 only)."""

    def kill(self, part: str) -> None:
        """SIGKILL ``part`` (``kafka``, ``redis``), as a crash would."""

    def kill_holding_port(self, part: str) -> None:
        """SIGKILL ``part`` and take its port the moment it is free, so that no restart
        can bind it until :meth:`release_port` (a host that is down)."""

    def release_port(self, part: str) -> None: ...

    def answers(self, part: str) -> bool:
        """Whether ``part`` answers a real client call right now."""

    def cache_current(self) -> bool:
        """Whether Redis holds the active policy the topics say is current."""

    def start_policy_reads(self, every_seconds: float) -> None:
        """Read the active policy through ``PolicyStore`` from now on, every few ms."""

    def stop_policy_reads(self) -> None: ...


class Driver(Protocol):
    """What a scenario's script can do. Signals and gaps go out with the simulator's next
    tick; ``log`` holds every event read back so far (live)."""

    log: EventLog
    facts: Facts
    chaos: Chaos | None
    workdir: Path
    """The scenario's own directory (its services' logs; artifacts it builds)."""

    def step(self, text: str) -> None:
        """Name what the script does now (the live progress line shows it)."""

    def signal(
        self, account: str, symbol: str, action: str, confidence: float, label: str = ""
    ) -> str:
        """Send a signal with the next tick; returns its id (and files it under ``label``)."""

    def stream(
        self,
        accounts: Sequence[str],
        low: float,
        high: float,
        actions: Sequence[str] = ("BUY", "SELL", "CLOSE"),
        symbols: Sequence[str] = (),
    ) -> None:
        """From the next tick on, one seeded signal per account every tick (a random
        symbol of ``symbols``, default all, and action of ``actions``, confidence in
        [low, high]) until :meth:`stop_stream`."""

    def stop_stream(self) -> None: ...

    def sent(self) -> list[str]:
        """Every signal id the simulator has sent so far."""

    def model_version(self, version: str) -> None:
        """From the next tick on, the signals name this version of the simulator's model
        (the signal source moved over to a promoted model)."""

    def topic(self, name: str) -> str:
        """The scenario's full name of catalogue topic ``name`` (its prefix applied)."""

    def gap(self, symbol: str, change: float) -> None:
        """Move ``symbol``'s price by ``change`` (a fraction) at the next tick."""

    def ticks(self, count: int) -> None:
        """Wait until the simulator has published ``count`` more ticks."""

    def wait_for(self, what: str, predicate: Callable[[EventLog], bool], timeout: float) -> None:
        """Wait until the events read back satisfy ``predicate``; ScenarioAborted naming
        ``what`` after ``timeout`` seconds."""

    def hfos(self, *args: str, expect: int = 0, stdin: str | None = None) -> OperatorRun:
        """Run ``hfos ARGS`` (``stdin`` its input) on the scenario's topics, as an operator
        would; ScenarioAborted unless it exits ``expect``."""

    def sleep(self, seconds: float) -> None: ...

    def mark(self, name: str) -> int:
        """Record the moment ``name`` (epoch ms) in the facts; returns it."""


CALM_SIGMA = 0.005
"""A random walk's standard deviation over the flash-crash detector's 10 s window. The
position monitor trips global at a 3 % fall within 10 s (SPEC §6): at 0.5 % a walk stays
a walk (3 % is six sigma), and only scenario 6's gap is a crash."""
FLASH_CRASH_WINDOW_SECONDS = 10.0


def calm_volatility(tick_seconds: float) -> float:
    """The per-tick volatility whose 10 s move has :data:`CALM_SIGMA`."""
    return CALM_SIGMA / math.sqrt(FLASH_CRASH_WINDOW_SECONDS / tick_seconds)


@dataclass(frozen=True)
class Desk:
    """The desk a scenario runs on: accounts the exchange funds, symbols the simulator
    prices, one tick every ``tick_seconds``, and the seeded walk's volatility."""

    accounts: tuple[str, ...]
    symbols: tuple[str, ...]
    tick_seconds: float = 0.1
    volatility: float = 0.0005
    start_price: float = 100.0
    seed: int = 0


Drive = Callable[[Driver], None]
Judge = Callable[[EventLog, Facts], Judgement]


@dataclass(frozen=True)
class Scenario:
    number: int
    slug: str
    title: str
    summary: str
    """What SPEC §9 asks, in a sentence."""
    desk: Desk
    drive: Drive
    judge: Judge
    needs_local_stack: bool = False
    """Kills servers: only on the local stack the demo controls."""
    requires: tuple[str, ...] = ()
    """Services beyond the worker, the executor and the exchange (``monitor``): without
    them in this build the scenario is skipped, saying which."""
