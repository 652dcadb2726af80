"""The emergency stop in a real worker on real Kafka (SPEC §4): a breach trips the account,
stale and incomplete commands are refused, state survives a restart of every process, and
a reader reports not-ready until it has read ess.state to its end."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from schemas.catalogue import ESS_COMMAND, ESS_TRANSITION
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.cli.main import cli
from services.ess.view import EssView
from services.testing import Servers
from services.testing.kafka import read_topic
from services.testing.workers import running_worker, stop_worker
from tests.streams.drawdown.test_breaker_worker import Bench

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


@pytest.fixture
def bench(stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path) -> Bench:
    return Bench(stack, serde, producer, tmp_path / "worker.log")


def _ess(bench: Bench, *args: str) -> Any:
    return CliRunner().invoke(cli, ["ess", *args], env=bench.env)


def _state(bench: Bench, scope: str, predicate: Any, seconds: float = 60) -> dict[str, Any]:
    view = EssView({"bootstrap.servers": bench.stack.kafka}, bench.names, bench.serde)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            held = view.states().get(scope)
            if held is not None and predicate(held):
                return held
            time.sleep(0.05)
    finally:
        view.close()
    raise AssertionError(f"{scope} never matched; worker log:\n{bench.log.read_text()[-2000:]}")


def test_ess_when_breaker_trips_then_account_tripped_and_reset_needs_current_version(
    bench: Bench,
) -> None:
    with running_worker(bench.env, bench.app_id, bench.log):
        bench.wait_policy(lambda _active: True)
        bench.balance("acc-e", 10_000.0)
        bench.balance("acc-e", 8_000.0)
        tripped = _state(bench, "account:acc-e", lambda s: s["state"] == "TRIPPED")
        stale = _ess(
            bench,
            "reset",
            "--scope",
            "account:acc-e",
            "--by",
            "op",
            "--reason",
            "too early",
            "--expect-version",
            str(tripped["version"] - 1),
        )
        reset = _ess(
            bench, "reset", "--scope", "account:acc-e", "--by", "op", "--reason", "reviewed"
        )
        cooling = _state(bench, "account:acc-e", lambda s: s["state"] == "COOLING_DOWN")

    assert tripped["trigger"] == "CIRCUIT_BREAKER"
    assert "StaleCommandError" in str(stale.exception)
    assert reset.exit_code == 0, str(reset.exception)
    assert cooling["version"] == tripped["version"] + 1
    assert cooling["cooldown_until"] > cooling["since"]


def test_ess_when_command_incomplete_then_refused_and_state_unchanged(
    bench: Bench, producer: EventProducer
) -> None:
    with running_worker(bench.env, bench.app_id, bench.log):
        bench.wait_policy(lambda _active: True)  # the worker is up: the CLI waits 30 s only
        trip = _ess(bench, "trip", "--scope", "global", "--by", "op", "--reason", "drill")
        assert trip.exit_code == 0, str(trip.exception)
        command_id = str(uuid.uuid4())
        producer.send(
            contract(ESS_COMMAND, bench.names),
            "global",
            {
                "envelope": envelope("test", int(time.time() * 1000), event_id=command_id),
                "command_id": command_id,
                "scope": "global",
                "kind": "RESET",
                "trigger": "MANUAL",
                "expected_version": 1,
                "by": "",
                "reason": "",
                "cause_event_id": None,
            },
        )
        assert producer.flush(30) == 0
        time.sleep(2)
        held = _state(bench, "global", lambda _s: True)

    assert held["state"] == "TRIPPED"  # no RESET without who and why
    assert held["version"] == 1


def test_ess_when_every_process_restarts_then_state_kept_and_readers_wait_until_caught_up(
    bench: Bench,
) -> None:
    with running_worker(bench.env, bench.app_id, bench.log):
        bench.wait_policy(lambda _active: True)  # the worker is up: the CLI waits 30 s only
        trip = _ess(bench, "trip", "--scope", "symbol:BTCUSDT", "--by", "op", "--reason", "halt")
        assert trip.exit_code == 0, str(trip.exception)
    fresh = EssView({"bootstrap.servers": bench.stack.kafka}, bench.names, bench.serde)
    ready_at_once = fresh.caught_up.is_set()
    fresh.close()

    with running_worker(bench.env, bench.app_id, bench.log):
        held = _state(bench, "symbol:BTCUSDT", lambda s: s["state"] == "TRIPPED")
        again = _ess(
            bench,
            "reset",
            "--scope",
            "symbol:BTCUSDT",
            "--by",
            "op",
            "--reason",
            "resume",
            "--expect-version",
            str(held["version"]),
        )

    assert not ready_at_once  # a process that has not read ess.state is not ready
    assert again.exit_code == 0, str(again.exception)  # the new worker knew the version


def test_breaker_when_equity_data_goes_stale_then_ess_reduces_the_account(
    bench: Bench, producer: EventProducer
) -> None:
    with running_worker(bench.env, bench.app_id, bench.log):
        bench.wait_policy(lambda _active: True)
        assert (
            CliRunner()
            .invoke(
                cli,
                [
                    "policy",
                    "set",
                    "normal",
                    "stale_after_seconds=2",
                    "--by",
                    "t",
                    "--reason",
                    "fast staleness",
                ],
                env=bench.env,
            )
            .exit_code
            == 0
        )
        bench.wait_policy(lambda active: active.values.stale_after_seconds == 2)
        bench.venue.position("acc-s", "BTCUSDT", -5.0)
        reducing = _state(bench, "account:acc-s", lambda s: s["state"] == "REDUCING", 30)

    assert reducing["trigger"] == "STALE_DATA"
    assert reducing["version"] == 1  # asked once per stale spell, not once per second


def _transitions(bench: Bench, scope: str, expected: int) -> list[dict[str, Any]]:
    target = contract(ESS_TRANSITION, bench.names)
    raw = read_topic(
        {"bootstrap.servers": bench.stack.kafka}, target.topic, expected, timeout=30, settle=2.0
    )
    decoded = [bench.serde.decode(target, record.value) for record in raw]
    return [t for t in decoded if t["scope"] == scope]


def _trip_and_reset(bench: Bench, scope: str, cooldown_seconds: int) -> None:
    cooldown = _policy(bench, f"ess_cooldown_seconds={cooldown_seconds}")
    assert cooldown.exit_code == 0, str(cooldown.exception)
    bench.wait_policy(lambda active: active.values.ess_cooldown_seconds == cooldown_seconds)
    for verb in ("trip", "reset"):
        sent = _ess(bench, verb, "--scope", scope, "--by", "op", "--reason", "drill")
        assert sent.exit_code == 0, str(sent.exception)


def _policy(bench: Bench, change: str) -> Any:
    return CliRunner().invoke(
        cli, ["policy", "set", "normal", change, "--by", "t", "--reason", "t"], env=bench.env
    )


def test_ess_when_cooldown_elapses_then_armed_and_worker_keeps_running(bench: Bench) -> None:
    with running_worker(bench.env, bench.app_id, bench.log) as worker:
        bench.wait_policy(lambda _active: True)
        _trip_and_reset(bench, "account:a1", cooldown_seconds=2)
        armed = _state(bench, "account:a1", lambda s: s["state"] == "ARMED", 30)
        time.sleep(3)  # the crash came ~2 s after the cooldown's end: outlive it
        alive = worker.poll() is None

    assert alive, bench.log.read_text()[-3000:]
    assert armed["trigger"] == "COOLDOWN_ELAPSED"
    walked = [(t["previous"], t["state"]) for t in _transitions(bench, "account:a1", 3)]
    assert walked == [("ARMED", "TRIPPED"), ("TRIPPED", "COOLING_DOWN"), ("COOLING_DOWN", "ARMED")]


def test_ess_when_worker_restarts_during_cooldown_then_armed_once_after_it(bench: Bench) -> None:
    with running_worker(bench.env, bench.app_id, bench.log) as worker:
        bench.wait_policy(lambda _active: True)
        _trip_and_reset(bench, "account:a2", cooldown_seconds=10)
        cooling = _state(bench, "account:a2", lambda s: s["state"] == "COOLING_DOWN")
        stop_worker(worker, signal.SIGKILL)
    with running_worker(bench.env, bench.app_id, bench.log) as worker:
        armed = _state(bench, "account:a2", lambda s: s["state"] == "ARMED", 60)
        time.sleep(3)
        alive = worker.poll() is None

    assert alive, bench.log.read_text()[-3000:]
    assert armed["since"] >= cooling["cooldown_until"]  # not before the cooldown's end
    walked = [t["state"] for t in _transitions(bench, "account:a2", 3)]
    assert walked == ["TRIPPED", "COOLING_DOWN", "ARMED"]
