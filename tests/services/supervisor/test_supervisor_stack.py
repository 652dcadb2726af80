"""The supervisor against the real local stack (SPEC §7), servers killed for real:

- Redis SIGKILLed and kept down 60 s: the history shows every attempt with its delay,
  the supervisor brings Redis back, and the policy cache is current within 1 s of it
  answering;
- the stream worker failing on every start: five attempts, exactly one
  SUPERVISOR_ESCALATION transition, after which the executor refuses new risk and
  still passes a CLOSE;
- the supervisor SIGKILLed mid-episode resumes that episode's attempt count;
- the broker SIGKILLed: the executor refuses new risk within its bound (the escalation
  cannot be written then: the dead-man's switch is what covers it), and the history
  records the outage once the broker is back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas.catalogue import ESS_COMMAND, ESS_TRANSITION, TopicNames
from schemas.contracts import contract
from schemas.enums import DenyReason, RecoveryPhase, SignalAction
from schemas.keys import policy_cache_key
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.ess.view import EssView
from services.executor.book import Readiness, context_for
from services.localstack.stack import LocalStack
from services.policy.view import PolicyView
from services.supervisor.config import SupervisorConfig
from services.supervisor.exceptions import HistoryError
from services.supervisor.history import as_text, read_history
from services.supervisor.loop import Unit
from services.supervisor.service import RunningSupervisor
from services.supervisor.service import Servers as SupervisedServers
from services.testing import Servers
from services.testing.desk import MODEL, MODEL_VERSION, Desk, running_executor
from services.testing.kafka import read_topic
from services.testing.workers import running_worker
from services.up.children import Child, spawn
from services.up.plan import Heartbeat, Part
from services.up.supervised import ChildSlot, as_children
from streams.policy.records import active_key, profile_key
from streams.strategy import Signal, decide

pytestmark = [pytest.mark.stack, pytest.mark.localstack]

HFOS = (sys.executable, "-m", "services.cli.main")
WORKER = "service:hfos-streams"


@dataclass
class Deployment:
    """Topics of one test under their own prefix, on the local stack the suite controls."""

    stack: Servers
    serde: AvroSerde
    names: TopicNames
    tmp: Path
    supervisors: list[RunningSupervisor] = field(default_factory=list)

    @property
    def local(self) -> LocalStack:
        assert self.stack.local is not None
        return self.stack.local

    @property
    def kafka(self) -> dict[str, str]:
        return {"bootstrap.servers": self.stack.kafka}

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.stack.environ(),
            "HFOS_TOPIC_PREFIX": self.names.prefix,
            "PYTHONUNBUFFERED": "1",
        }

    def history(self, subsystem: str) -> list[dict[str, Any]]:
        return list(read_history(self.kafka, self.serde, self.names, subsystem=subsystem))

    def wait_history(
        self, subsystem: str, done: Callable[[list[dict[str, Any]]], bool], seconds: float
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while True:
            try:
                lines = self.history(subsystem)
            except (KafkaException, HistoryError):
                lines = []  # the broker is away: the history is read once it is back
            if (lines and done(lines)) or time.monotonic() > deadline:
                return lines
            time.sleep(0.5)

    @contextmanager
    def supervising(
        self, config: SupervisorConfig, adapt: Any = None
    ) -> Iterator[RunningSupervisor]:
        """The supervisor in a thread of this process (its parts may be our children)."""
        servers = SupervisedServers(
            kafka=self.kafka,
            registry_url=self.stack.registry,
            registry_auth=None,
            redis_url=self.stack.redis,
            serde=self.serde,
            names=self.names,
        )
        running = RunningSupervisor(servers, config, stack=self.local, adapt=adapt)
        stop = threading.Event()
        thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
        thread.start()
        try:
            yield running
        finally:
            stop.set()
            thread.join(10)
            running.close()


@pytest.fixture
def deployment(local_stack: Servers, serde: AvroSerde, tmp_path: Path) -> Iterator[Deployment]:
    names = TopicNames(f"sup{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": local_stack.kafka}), names.specs())
    yield Deployment(local_stack, serde, names, tmp_path)
    assert local_stack.local is not None
    local_stack.local.up()  # whatever a test killed is running again for the next one


@contextmanager
def port_taken(port: int) -> Iterator[None]:
    """Another process's listener on ``port``: the part cannot start there."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", port))
    squatter.listen(16)
    try:
        yield
    finally:
        squatter.close()


def wait_for(predicate: Callable[[], bool], seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def outcomes(lines: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(line["outcome"], line["attempt"]) for line in lines]


def assert_backoff(lines: list[dict[str, Any]]) -> None:
    """Every scheduled attempt waited 1, 2, 4, 8 or 16 s (its number's) plus at most 10 %."""
    for line in lines:
        if line["outcome"] == "ATTEMPT_SCHEDULED":
            base = 1000 * 2 ** (line["attempt"] - 1)
            assert base <= line["delay_ms"] <= base * 1.1, line


# -- Redis down 60 s --------------------------------------------------------------------------


def _cache_current(client: redis.Redis, view: PolicyView, prefix: str) -> bool:
    state = view.state()
    activation, version = state.activations.get("global"), state.active()
    if activation is None or version is None:
        return False
    keys = [active_key("global"), profile_key(version.profile.value)]
    try:
        held = client.mget([policy_cache_key(prefix, key) for key in keys])
    except (redis.RedisError, OSError):
        return False
    active = f'"version": {activation.version}'.encode()
    profile = f'"version": {version.version}'.encode()
    return held[0] is not None and active in held[0] and held[1] is not None and profile in held[1]


@pytest.mark.timeout(240)
def test_redis_when_killed_and_held_down_60s_then_backoff_history_restart_and_cache_in_1s(
    deployment: Deployment,
) -> None:
    port = deployment.local.state().parts["redis"].ports[0]
    client = redis.Redis.from_url(
        deployment.stack.redis, socket_timeout=0.05, socket_connect_timeout=0.05
    )
    view = PolicyView(deployment.kafka, deployment.names, deployment.serde)
    config = SupervisorConfig(watch=frozenset({"redis"}), restart_stack=True, stable_seconds=5)
    log = deployment.tmp / "worker.log"
    try:
        with (
            running_worker(deployment.env, f"{deployment.names.prefix}streams", log),
            deployment.supervising(config),
        ):
            assert wait_for(lambda: _cache_current(client, view, deployment.names.prefix), 90), (
                log.read_text()[-3000:]
            )
            killed = time.monotonic()
            deployment.local.kill("redis")
            with port_taken(port):
                time.sleep(60.0)
            answered = wait_for(lambda: _pings(client), 60, step=0.005)
            back = time.monotonic()
            current = wait_for(lambda: _cache_current(client, view, deployment.names.prefix), 5)
            cached = time.monotonic()
            lines = deployment.wait_history(
                "redis", lambda ls: ("ATTEMPT_SUCCEEDED", ls[-1]["attempt"]) in outcomes(ls), 30
            )
    finally:
        view.close()

    down, resync = back - killed, cached - back
    print(f"redis down {down:.1f} s; policy cache current {resync * 1000:.0f} ms after PING")
    print("\n".join(as_text(line) for line in lines))
    assert answered, "the supervisor did not bring Redis back"
    assert current
    assert down >= 60.0
    assert resync < 1.0
    started = [line for line in lines if line["outcome"] == "ATTEMPT_STARTED"]
    failed = [line for line in lines if line["outcome"] == "ATTEMPT_FAILED"]
    assert outcomes(lines)[0] == ("FAILURE_DETECTED", 0)
    assert [line["attempt"] for line in started] == list(range(1, len(started) + 1))
    assert 4 <= len(started) <= 5  # attempts 1-4 span the 60 s; the 5th at latest succeeds
    assert all("taken by another process" in str(line["error"]) for line in failed)
    assert outcomes(lines)[-1] == ("ATTEMPT_SUCCEEDED", len(started))
    assert {line["episode"] for line in lines} == {lines[0]["episode"]}
    assert_backoff(lines)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


# -- the worker failing on every start --------------------------------------------------------


def _escalations(deployment: Deployment, spec: Any, seconds: float) -> list[dict[str, Any]]:
    target = contract(spec, deployment.names)
    raw = read_topic(deployment.kafka, target.topic, 1_000, timeout=seconds)
    records = [deployment.serde.decode(target, r.value) for r in raw]
    return [r for r in records if r["trigger"] == "SUPERVISOR_ESCALATION"]


def _decide(executor: Any, action: SignalAction, bound_ms: int) -> DenyReason | None:
    """How the running executor would decide a signal of account w1 now, from its own
    state (its dead-man's switch included): None accepted, else the reason refused."""
    sig = Signal(str(uuid.uuid4()), "w1", "BTC", action, 0.9, MODEL, MODEL_VERSION)
    now = int(time.time() * 1000)
    ready = Readiness(ready=True, heartbeat_bound_ms=bound_ms)
    decision = decide(sig, context_for(sig, executor.control, executor.accounts, ready, now))
    return getattr(decision, "reason", None)


class Workers:
    """A stream worker as the supervisor's child process, whose every start is refused by
    the settings (HFOS_WORKER_STALL_EXIT_SECONDS=-1: ConfigError, exit 1)."""

    def __init__(self, deployment: Deployment) -> None:
        self.env = {**deployment.env, "HFOS_WORKER_STALL_EXIT_SECONDS": "-1"}
        self.logs = deployment.tmp / "logs"
        self.logs.mkdir()
        self.part = Part(
            "worker",
            (
                *("worker", "--app-id", f"{deployment.names.prefix}streams"),
                *("--loglevel", os.environ.get("HFOS_TEST_WORKER_LOGLEVEL", "info")),
            ),
            Heartbeat("hfos-streams"),
        )
        self.slot = ChildSlot(self._spawn(), self._spawn)

    def _spawn(self) -> Child:
        return spawn(self.part, self.logs, self.env)

    def log(self) -> str:
        return (self.logs / "worker.log").read_text()[-3000:]

    def stop(self) -> None:
        self.slot.current().process.kill()
        self.slot.current().process.wait(30)


BOUND_MS = 5_000
"""The executor's dead-man's switch here: its default, 5 worker heartbeats."""
ESS_REDUCING = DenyReason.ESS_REDUCING


@pytest.mark.timeout(300)
def test_worker_when_it_fails_on_every_start_then_one_escalation_and_executor_reduces(
    deployment: Deployment, producer: EventProducer
) -> None:
    """A replica of the stream worker that fails on every start, supervised as hfos up's
    child; the escalation is applied by the replica that runs (a healthy one from the
    start: a restart is not what is tested here)."""
    desk = Desk(deployment.stack.kafka, deployment.serde, producer, deployment.names.prefix, [])
    config = SupervisorConfig(
        watch=frozenset({WORKER}),
        heartbeat_bound_seconds=3,
        escalate_after_seconds=None,  # only exhaustion escalates here
    )
    log = deployment.tmp / "replica.log"
    with running_worker(deployment.env, f"{deployment.names.prefix}streams", log):
        assert wait_for(lambda: _policy_seeded(deployment), 90), log.read_text()[-3000:]
        workers = Workers(deployment)

        def adapt(units: list[Unit], running: RunningSupervisor) -> list[Unit]:
            slots = {"worker": workers.slot}
            return as_children(units, slots, config, lambda _c: None, running.heartbeats)

        desk.promote(MODEL, MODEL_VERSION)
        desk.price("BTC", 100.0)
        desk.balance("w1", 10_000.0)
        desk.position("w1", "BTC", 1.0, 100.0)
        try:
            with (
                running_executor(desk, heartbeat_bound_ms=BOUND_MS) as executor,
                deployment.supervising(config, adapt),
            ):
                armed = wait_for(lambda: _decide(executor, SignalAction.BUY, BOUND_MS) is None, 30)
                escalated = lambda ls: ls[-1]["outcome"] == "ESCALATED"  # noqa: E731
                lines = deployment.wait_history(WORKER, escalated, 120)
                assert wait_for(lambda: _global(deployment) == "REDUCING", 60), log.read_text()
                reduced = lambda: _decide(executor, SignalAction.BUY, BOUND_MS) is ESS_REDUCING  # noqa: E731
                assert wait_for(reduced, 30)
                buy, close = desk.signal("w1", "BTC", "BUY"), desk.signal("w1", "BTC", "CLOSE")
                decided = desk.decisions(2, timeout=60)
            with deployment.supervising(config, adapt) as again:  # a restarted supervisor
                time.sleep(3)
                resumed = again.supervisor.states[WORKER]
        finally:
            desk.close()
            workers.stop()

    print("\n".join(as_text(line) for line in lines))
    assert armed  # new risk was accepted before
    assert [x["attempt"] for x in lines if x["outcome"] == "ATTEMPT_STARTED"] == [1, 2, 3, 4, 5]
    assert [x["attempt"] for x in lines if x["outcome"] == "ATTEMPT_FAILED"] == [1, 2, 3, 4, 5]
    assert [x["outcome"] for x in lines].count("FAILURE_DETECTED") == 1  # one episode
    assert [x["outcome"] for x in lines][-2:] == ["EXHAUSTED", "ESCALATED"]
    assert lines[-1]["escalated_to"] == "REDUCING"
    assert "ConfigError" in str(lines[-1]["error"])
    assert_backoff(lines)
    [command] = _escalations(deployment, ESS_COMMAND, 10)  # the restart sent none again
    assert (command["kind"], command["scope"]) == ("REDUCE", "global")
    [transition] = _escalations(deployment, ESS_TRANSITION, 10)
    assert (transition["previous"], transition["state"]) == ("ARMED", "REDUCING")
    assert (decided[buy]["outcome"], decided[close]["outcome"]) == ("ESS_REDUCING", "ACCEPTED")
    assert (resumed.phase, resumed.attempt, resumed.escalated) == (RecoveryPhase.EXHAUSTED, 5, True)


def _policy_seeded(deployment: Deployment) -> bool:
    """The worker runs: it has seeded and activated the default policy."""
    view = PolicyView(deployment.kafka, deployment.names, deployment.serde)
    try:
        return view.wait_caught_up(5) and view.state().active() is not None
    finally:
        view.close()


def _global(deployment: Deployment) -> str | None:
    view = EssView(deployment.kafka, deployment.names, deployment.serde)
    try:
        if not view.caught_up.wait(10):
            return None
        held = view.states().get("global")
        return None if held is None else str(held["state"])
    finally:
        view.close()


# -- the supervisor SIGKILLed mid-episode -----------------------------------------------------


def _supervise(deployment: Deployment, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*HFOS, "supervise", "--watch", "redis", "--restart-stack", "--stable-seconds", "5"],
            env=deployment.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.timeout(180)
def test_supervisor_when_sigkilled_mid_episode_then_resumes_the_attempt_count(
    deployment: Deployment,
) -> None:
    port = deployment.local.state().parts["redis"].ports[0]
    log = deployment.tmp / "supervisor.log"
    supervisor = _supervise(deployment, log)
    try:
        time.sleep(3)  # started and watching (its history is empty until Redis fails)
        deployment.local.kill("redis")
        with port_taken(port):
            before = deployment.wait_history(
                "redis", lambda ls: ("ATTEMPT_STARTED", 2) in outcomes(ls), 60
            )
            supervisor.send_signal(signal.SIGKILL)
            supervisor.wait(10)
            supervisor = _supervise(deployment, log)
            failed_again = deployment.wait_history(
                "redis", lambda ls: ("ATTEMPT_FAILED", 2) in outcomes(ls), 60
            )
        lines = deployment.wait_history(
            "redis", lambda ls: ls[-1]["outcome"] == "ATTEMPT_SUCCEEDED", 60
        )
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(30)

    print("\n".join(as_text(line) for line in lines))
    assert ("ATTEMPT_STARTED", 2) in outcomes(before), log.read_text()[-3000:]
    assert ("ATTEMPT_FAILED", 2) in outcomes(failed_again)
    assert "resuming episode" in log.read_text()
    started = [line["attempt"] for line in lines if line["outcome"] == "ATTEMPT_STARTED"]
    assert started == list(range(1, len(started) + 1))  # 1, 2, then 3 — never 1 again
    assert len(started) >= 3
    assert [x for x, _ in outcomes(lines)].count("FAILURE_DETECTED") == 1
    assert {line["episode"] for line in lines} == {lines[0]["episode"]}
    assert_backoff(lines)


# -- the broker SIGKILLed ---------------------------------------------------------------------


@pytest.mark.timeout(240)
def test_broker_when_killed_then_executor_refuses_new_risk_in_bound_and_history_has_outage(
    deployment: Deployment, producer: EventProducer
) -> None:
    """The escalation of a Kafka failure cannot be written while Kafka is down: what keeps
    new risk out then is the executor's dead-man's switch, proven here."""
    bound_ms = 2_000
    desk = Desk(deployment.stack.kafka, deployment.serde, producer, deployment.names.prefix, [])
    desk.ready_market(["w1"], ["BTC"])
    desk.position("w1", "BTC", 1.0, 100.0)
    config = SupervisorConfig(watch=frozenset({"kafka"}), restart_stack=True, stable_seconds=5)
    try:
        with (
            running_executor(desk, heartbeat_bound_ms=bound_ms) as executor,
            deployment.supervising(config),
        ):
            warm = desk.signal("w1", "BTC", "BUY", model_version="v1")
            assert desk.decisions(1, timeout=30)[warm]["outcome"] == "ACCEPTED"
            killed = time.monotonic()  # the SIGKILL goes out now; kill() waits for the reap
            deployment.local.kill("kafka")
            refused = wait_for(
                lambda: _decide(executor, SignalAction.BUY, bound_ms)
                is DenyReason.STALE_CONTROL_STATE,
                10,
                step=0.01,
            )
            took = time.monotonic() - killed
            close = _decide(executor, SignalAction.CLOSE, bound_ms)
            lines = deployment.wait_history(
                "kafka", lambda ls: ls[-1]["outcome"] == "RECOVERED", 120
            )
        escalations = _escalations(deployment, ESS_COMMAND, 10)
    finally:
        desk.close()

    print(f"executor refused new risk {took * 1000:.0f} ms after the broker was killed")
    print("\n".join(as_text(line) for line in lines))
    assert refused
    assert took <= bound_ms / 1000 + 1.0  # the bound, plus one heartbeat interval and slack
    assert close is None  # exits are never blocked
    assert outcomes(lines)[:4] == [
        ("FAILURE_DETECTED", 0),
        ("ATTEMPT_SCHEDULED", 1),
        ("ATTEMPT_STARTED", 1),
        ("ATTEMPT_SUCCEEDED", 1),
    ]
    assert "metadata request failed" in str(lines[0]["error"])
    assert escalations == []  # back within its bound: nothing to escalate
    assert_backoff(lines)
