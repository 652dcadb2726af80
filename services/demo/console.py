"""What the terminal shows: a live progress line per scenario (rewritten in place on a
terminal, a line every few seconds otherwise), then its timeline, verdict and latencies.

The live line counts what the live reader has read from the topics so far; it informs,
it never judges.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import TextIO

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
    ESS_STATE,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    RISK_WARNING,
    SYSTEM_RECOVERY,
    TRADE_SIGNAL,
)
from services.demo.events import EventLog
from services.demo.runner import Result
from services.demo.script import Scenario

TIMELINE_LINES = 60
"""A timeline longer than this shows its first and last lines; the report has all."""
LINE_EVERY_SECONDS = 5.0


def counts(log: EventLog) -> str:
    fills = sum(1 for e in log.of(ACCOUNT_UPDATED.name) if e["reason"] == "FILL")
    states = {}
    for event in log.of(ESS_STATE.name):
        states[event["scope"]] = event["state"]
    ess = ", ".join(f"{s} {v}" for s, v in sorted(states.items()) if v != "ARMED") or "ARMED"
    refused = Counter(str(e["reason"]) for e in log.of(ORDER_REJECTED.name))
    return (
        f"signals {log.count(TRADE_SIGNAL.name)} · orders {log.count(ORDER_REQUESTED.name)} · "
        f"refused {sum(refused.values())} · fills {fills} · warnings "
        f"{log.count(RISK_WARNING.name)} · trips {log.count(CIRCUIT_BREAKER_TRIGGERED.name)} · "
        f"recovery {log.count(SYSTEM_RECOVERY.name)} · ESS {ess}"
    )


class Live:
    """The live line of one scenario, redrawn by a thread until :meth:`done`."""

    def __init__(self, out: TextIO, scenario: Scenario, total: int) -> None:
        self._out, self._scenario, self._total = out, scenario, total
        self._tty = out.isatty()
        self._step = "preparing"
        self._log: EventLog | None = None
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)
        self._thread.start()

    def step(self, text: str) -> None:
        with self._lock:
            self._step = text
        if not self._tty:
            self._print()

    def follow(self, log: EventLog | None) -> None:
        with self._lock:
            self._log = log or self._log

    def _line(self) -> str:
        with self._lock:
            step, log = self._step, self._log
        elapsed = time.monotonic() - self._started
        tally = f" | {counts(log)}" if log is not None else ""
        head = f"[{self._scenario.number}/{self._total} {self._scenario.title}]"
        return f"{head} {elapsed:5.1f} s {step}{tally}"

    def _print(self) -> None:
        line = self._line()
        if self._tty:
            width = 160
            self._out.write("\r" + line[:width].ljust(width))
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def _run(self) -> None:
        every = 0.5 if self._tty else LINE_EVERY_SECONDS
        while not self._stop.wait(every):
            self._print()

    def done(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if self._tty:
            self._out.write("\r" + " " * 160 + "\r")
            self._out.flush()


def offset(at: int, zero: int) -> str:
    return f"{(at - zero) / 1000:+8.3f} s"


def show(result: Result, out: TextIO = sys.stdout) -> None:
    scenario, j = result.scenario, result.judgement
    out.write(f"\n== {scenario.number}. {scenario.title}: {scenario.summary}\n")
    if j.skipped is not None and not j.timeline:
        out.write(f"   SKIP: {j.skipped}\n")
        return
    out.write(f"   topics {result.prefix}*  logs {result.log_dir}\n")
    zero = result.facts.started or (j.timeline[0].at if j.timeline else 0)
    lines = j.timeline
    if len(lines) > TIMELINE_LINES:
        half = TIMELINE_LINES // 2
        hidden = len(lines) - 2 * half
        lines = [*lines[:half], *lines[-half:]]
        out.write(f"   timeline ({hidden} lines in the middle are in the report):\n")
    else:
        out.write("   timeline:\n")
    out.writelines(f"   {offset(line.at, zero)}  {line.topic:32} {line.text}\n" for line in lines)
    out.writelines(f"   latency  {latency.text()}\n" for latency in j.latencies)
    out.writelines(f"   ok       {check}\n" for check in j.checks)
    out.writelines(f"   FAILED   {failure}\n" for failure in j.failures)
    if result.undecodable:
        out.write(
            f"   {len(result.undecodable)} records failed decode_checked: "
            f"{result.undecodable[:2]}\n"
        )
    out.write(f"   {j.status.value}: {j.reason} ({result.seconds:.1f} s)\n")
    out.flush()
