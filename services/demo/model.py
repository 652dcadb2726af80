"""What a scenario's run is made of, as data: events read back from the topics, the
facts a driver recorded about its own actions (never about outcomes), and the verdict.

Pure: no Kafka, no clock. A verdict is computed only from :class:`Event` records (what
the desk's services wrote) and :class:`Facts` (what the demo did: the signals it sent,
the commands it ran, the moments it killed a server and what it measured from outside).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Event:
    """One record as read back: its catalogue topic (no prefix), position and value."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Mapping[str, Any]
    logged: int | None = None
    """When the broker appended it (epoch ms), on topics the demo sets to LogAppendTime:
    the moment a control change became readable, which the producer's own event time
    (stamped before a fresh CLI process has even connected) does not say."""

    @property
    def at(self) -> int:
        """The producer's event time (epoch ms)."""
        return int(self.value["envelope"]["event_time"])

    @property
    def readable(self) -> int:
        """When consumers could first read it: the broker's append time where known."""
        return self.logged if self.logged is not None else self.at

    @property
    def event_id(self) -> str:
        return str(self.value["envelope"]["event_id"])

    def __getitem__(self, name: str) -> Any:
        return self.value[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.value.get(name, default)


@dataclass(frozen=True)
class OperatorRun:
    """One ``hfos`` command the demo ran as an operator would, and its answer."""

    argv: tuple[str, ...]
    started: int
    """Epoch ms."""
    seconds: float
    exit_code: int
    output: str


@dataclass(frozen=True)
class PolicyReadSample:
    """One read of the active policy by a reader outside the stream app (scenario 5)."""

    at: int
    source: str | None
    """``redis`` or ``view``; None when the read failed."""
    version: int | None
    error: str | None = None


@dataclass
class Facts:
    """What the driver did and measured from outside the desk; never an outcome count."""

    started: int = 0
    """Epoch ms when the desk was ready and the script began: the timeline's zero."""
    parts: tuple[str, ...] = ()
    """The desk's services (``worker``, ``executor``, ``exchange``, ``monitor``...)."""
    labels: dict[str, str] = field(default_factory=dict)
    """A script's name for a signal -> the signal id the simulator published it under."""
    sent: list[str] = field(default_factory=list)
    """Every signal id the simulator sent, in order (the input, not an outcome)."""
    marks: dict[str, int] = field(default_factory=dict)
    """Named moments (epoch ms): ``redis killed``, ``redis answers``, ..."""
    operator: list[OperatorRun] = field(default_factory=list)
    policy_reads: list[PolicyReadSample] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    """Numbers measured from outside (ms), e.g. ``redis back -> cache current``."""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Moment:
    """One line of a timeline."""

    at: int
    topic: str
    text: str


@dataclass(frozen=True)
class Latency:
    """A measured latency: one value or many (then shown as p50 / p99 / max)."""

    name: str
    values_ms: tuple[float, ...]
    bound_ms: float | None = None
    """The bound the SPEC sets (checked by the judge that made it), for the report."""

    @property
    def count(self) -> int:
        return len(self.values_ms)

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile: with 50 values, p99 is the largest (not interpolated)."""
        ordered = sorted(self.values_ms)
        rank = max(1, math.ceil(q * len(ordered)))
        return ordered[rank - 1]

    @property
    def worst(self) -> float:
        return max(self.values_ms)

    def text(self) -> str:
        bound = "" if self.bound_ms is None else f" (bound {self.bound_ms:g} ms)"
        if self.count == 1:
            return f"{self.name}: {self.values_ms[0]:.0f} ms{bound}"
        return (
            f"{self.name}: p50 {self.quantile(0.5):.0f} ms, p99 {self.quantile(0.99):.0f} ms, "
            f"max {self.worst:.0f} ms over {self.count}{bound}"
        )


@dataclass(frozen=True)
class Series:
    """A line of a plot: ``(epoch ms, value)`` points, with a label."""

    label: str
    points: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Marker:
    """A vertical line on a plot at ``at`` (a trigger, a reset, a kill)."""

    at: int
    label: str


@dataclass(frozen=True)
class PlotData:
    """What one scenario's plots show, extracted from the events (pure; drawn by
    :mod:`services.demo.plots`)."""

    kind: str
    """``risk`` (equity, drawdown vs limit, breaker/ESS state), ``recovery`` or ``model``."""
    title: str
    series: Mapping[str, tuple[Series, ...]]
    """Panel name -> its lines."""
    limits: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    """Panel name -> horizontal lines (label, value)."""
    markers: tuple[Marker, ...] = ()
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Panel name -> the ordered categories of a step panel (ESS states, outcomes)."""


@dataclass
class Judgement:
    """A scenario's verdict: every check it made (passed or not), the failures with the
    behaviour they name, its timeline, latencies and plots."""

    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    timeline: list[Moment] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)
    plots: list[PlotData] = field(default_factory=list)
    skipped: str | None = None

    def check(self, ok: bool, passed: str, failed: str) -> bool:
        """Record one check: ``passed`` when ``ok``, else ``failed`` as a failure."""
        if ok:
            self.checks.append(passed)
        else:
            self.failures.append(failed)
        return ok

    def latency(self, latency: Latency | None) -> None:
        if latency is not None and latency.count:
            self.latencies.append(latency)

    @property
    def status(self) -> Status:
        if self.skipped is not None:
            return Status.SKIP
        return Status.FAIL if self.failures else Status.PASS

    @property
    def reason(self) -> str:
        if self.skipped is not None:
            return self.skipped
        if self.failures:
            return "; ".join(self.failures)
        return f"{len(self.checks)} checks passed"


def latency_of(name: str, values: Sequence[float], bound_ms: float | None = None) -> Latency:
    return Latency(name, tuple(float(v) for v in values), bound_ms)
