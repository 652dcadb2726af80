"""The :class:`~services.demo.script.Driver` a scenario's script runs against: the
simulator's feed, the ``hfos`` CLI as an operator runs it, the live read of the topics,
and (on the local stack) the chaos edge."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from schemas.enums import SignalAction
from services.demo.events import EventLog
from services.demo.feed import Feed, Stream
from services.demo.model import Facts, OperatorRun
from services.demo.script import Chaos, ScenarioAborted

OPERATOR_TIMEOUT_SECONDS = 120.0
"""An answered command takes about a second; one waiting for the worker's answer up to 45 s
(15 s for the broker, 30 s for the worker); 120 s is a hung command."""
TICK_TIMEOUT_SECONDS = 60.0


def now_ms() -> int:
    return int(time.time() * 1000)


class LiveDriver:
    def __init__(
        self,
        feed: Feed,
        log: EventLog,
        facts: Facts,
        environ: Mapping[str, str],
        chaos: Chaos | None,
        on_step: Callable[[str], None],
        workdir: Path,
    ) -> None:
        self._feed, self.log, self.facts = feed, log, facts
        self._environ, self.chaos, self._on_step = dict(environ), chaos, on_step
        self.workdir = workdir

    def step(self, text: str) -> None:
        self._on_step(text)

    def signal(
        self, account: str, symbol: str, action: str, confidence: float, label: str = ""
    ) -> str:
        signal_id = self._feed.signal(account, symbol, action, confidence)
        if label:
            self.facts.labels[label] = signal_id
        return signal_id

    def stream(
        self,
        accounts: Sequence[str],
        low: float,
        high: float,
        actions: Sequence[str] = ("BUY", "SELL", "CLOSE"),
        symbols: Sequence[str] = (),
    ) -> None:
        chosen = tuple(SignalAction(a) for a in actions)
        self._feed.stream(Stream(tuple(accounts), low, high, chosen, tuple(symbols)))

    def stop_stream(self) -> None:
        self._feed.stream(None)

    def sent(self) -> list[str]:
        return self._feed.sent()

    def model_version(self, version: str) -> None:
        self._feed.model_version(version)

    def topic(self, name: str) -> str:
        return f"{self._environ['HFOS_TOPIC_PREFIX']}{name}"

    def gap(self, symbol: str, change: float) -> None:
        self._feed.gap(symbol, change)

    def ticks(self, count: int) -> None:
        if not self._feed.wait_ticks(count, TICK_TIMEOUT_SECONDS):
            raise ScenarioAborted(f"the simulator did not publish {count} ticks in 60 s")

    def wait_for(self, what: str, predicate: Callable[[EventLog], bool], timeout: float) -> None:
        if not self.log.wait(predicate, timeout):
            raise ScenarioAborted(f"timed out after {timeout:g} s waiting for {what}")

    def hfos(self, *args: str, expect: int = 0, stdin: str | None = None) -> OperatorRun:
        started, clock = now_ms(), time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "services.cli.main", *args],
            env={**os.environ, **self._environ},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=OPERATOR_TIMEOUT_SECONDS,
            check=False,
        )
        run = OperatorRun(
            ("hfos", *args),
            started,
            time.monotonic() - clock,
            done.returncode,
            (done.stdout + done.stderr).strip(),
        )
        self.facts.operator.append(run)
        if done.returncode != expect:
            raise ScenarioAborted(
                f"`{' '.join(run.argv)}` exited {done.returncode} (expected {expect}): {run.output}"
            )
        return run

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def mark(self, name: str) -> int:
        at = now_ms()
        self.facts.marks[name] = at
        return at
