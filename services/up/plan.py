"""What ``hfos up`` runs: the parts, the order they start in, and how each shows it is ready.

Pure: no processes, no Kafka. The worker starts first because every other part leans on the
control plane it owns (the policy it seeds, the ESS, the heartbeat that keeps the
executor's dead-man's switch alive); then the executor, so signals have a decider; then the
paper exchange, which funds the accounts; the position monitor (exit model, flash-crash
detector); the simulator last, so its first signals are
decided against funded accounts. They stop in the reverse order: the source of signals
first, the control plane last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from services.cli.exchange import READY as EXCHANGE_READY
from services.cli.monitor import STARTED as MONITOR_STARTED
from streams.heartbeat import SERVICE as WORKER_SERVICE

METRICS_PORT = "HFOS_METRICS_PORT"
EXIT_MODEL = "exit-model"
"""The exit model the position monitor serves (``hfos up`` builds and promotes it)."""
WORKER_INSTANCE = "HFOS_WORKER_INSTANCE"

READY_TIMEOUT_SECONDS = 120.0
"""A warm worker heartbeats ~4 s after it is spawned on the project's 2-core machine; a
cold one on a loaded machine also waits out a 10 s group session. 120 s is wide and
still ends a stuck start."""

STOP_GRACE_SECONDS = 20.0
"""Each part stops within about a second of SIGTERM here; a Faust worker waits for its
agents and commits, the executor and the exchange for an open transaction (bounded by
their 2 s barrier and 30 s flush only in the worst case)."""


@dataclass(frozen=True)
class Heartbeat:
    """Ready when the part's own process publishes a HEALTHY ``system.heartbeat``."""

    service: str

    def __str__(self) -> str:
        return f"a HEALTHY {self.service} heartbeat from its pid on system.heartbeat"


@dataclass(frozen=True)
class LogLine:
    """Ready when the part's log contains ``text``."""

    text: str

    def __str__(self) -> str:
        return f"{self.text!r} in its log"


@dataclass(frozen=True)
class Started:
    """Ready once it runs: nothing downstream waits for it."""

    def __str__(self) -> str:
        return "its start"


Readiness: TypeAlias = Heartbeat | LogLine | Started


@dataclass(frozen=True)
class Part:
    name: str
    args: tuple[str, ...]
    """The ``hfos`` command line, without ``hfos``."""
    ready: Readiness
    serves_metrics: bool = False


@dataclass(frozen=True)
class SessionConfig:
    """What the simulated desk trades: the same accounts are funded by the exchange and
    signalled for by the simulator, and the signals claim the model ``hfos up`` promotes."""

    accounts: tuple[str, ...] = ("demo-1",)
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    interval: float = 0.5
    model: str = "sim-model"
    model_version: str = "1"
    seed: int = 0


def plan(config: SessionConfig) -> tuple[Part, ...]:
    """The parts in start order."""
    funded = tuple(arg for account in config.accounts for arg in ("--account", account))
    return (
        Part(
            "worker",
            ("worker", "--loglevel", "info"),
            Heartbeat(WORKER_SERVICE),
            serves_metrics=True,
        ),
        # services/cli/executor.py logs "executor <instance> started (group <id>)" once its
        # consumers are subscribed.
        Part("executor", ("executor", "run"), LogLine("started (group "), serves_metrics=True),
        Part(
            "exchange", ("exchange", "run", *funded), LogLine(EXCHANGE_READY), serves_metrics=True
        ),
        # After the exchange, so the existing metrics ports stay where they were (the
        # monitor gets N+3).
        Part(
            "monitor",
            ("monitor", "run", "--model", EXIT_MODEL),
            LogLine(MONITOR_STARTED),
            serves_metrics=True,
        ),
        Part(
            "simulator",
            (
                *("simulate", "run", "--symbols", ",".join(config.symbols)),
                *("--accounts", ",".join(config.accounts), "--interval", str(config.interval)),
                *("--seed", str(config.seed), "--model-name", config.model),
                *("--model-version", config.model_version),
            ),
            Started(),
        ),
    )


def stop_order(parts: tuple[Part, ...]) -> tuple[Part, ...]:
    return tuple(reversed(parts))


def part_environ(environ: Mapping[str, str], parts: tuple[Part, ...], part: Part) -> dict[str, str]:
    """The environment of one part. One ``HFOS_METRICS_PORT`` can be bound only once, so
    the parts that serve metrics get consecutive ports from it, in start order (worker N,
    executor N+1, exchange N+2); the others get none."""
    env = dict(environ)
    base = env.pop(METRICS_PORT, None)
    if base and part.serves_metrics:
        serving = [p for p in parts if p.serves_metrics]
        env[METRICS_PORT] = str(int(base) + serving.index(part))
    if part.name == "worker":
        # Static membership: the supervisor's restart of a killed worker takes its
        # partitions back at once, without a rebalance or waiting out its session.
        env.setdefault(WORKER_INSTANCE, "up-worker-0")
    return env
