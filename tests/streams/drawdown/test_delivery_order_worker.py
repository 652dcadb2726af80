"""The breaker in a real worker judges an account by what the venue said, in the venue's
order (issue 12, SPEC §1 delivery order): histories published while the worker is down
come out with their true positions and peaks, and a worker that is behind on its input
never calls a live account stale."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from schemas.catalogue import ESS_TRANSITION
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.breaker.view import AccountView, read_accounts
from services.bus.producer import EventProducer
from services.cli.main import cli
from services.testing import Servers
from services.testing.kafka import read_topic
from services.testing.workers import running_worker, stop_worker
from tests.streams.drawdown.test_breaker_worker import Bench

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


@pytest.fixture
def bench(stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path) -> Bench:
    return Bench(stack, serde, producer, tmp_path / "worker.log")


def _history(bench: Bench, kind: str, account: str) -> None:
    """The three histories of the issue's reproduction, as the venue publishes them."""
    venue = bench.venue
    if kind == "B":  # equity 10 000 -> 12 000 -> 11 000: never breaches
        venue.balance(account, 10_000.0, flush=False)
        venue.balance(account, 12_000.0, flush=False)
        venue.position(account, "BTCUSDT", -1_000.0, flush=False)
    elif kind == "C":  # opens SOL, gains 500, closes it: ends flat at 10 500
        venue.balance(account, 10_000.0, flush=False)
        venue.position(account, "SOLUSDT", 0.0, flush=False)
        venue.position(account, "SOLUSDT", 500.0, flush=False)
        venue.close(account, "SOLUSDT", 500.0, flush=False)
        venue.balance(account, 10_500.0, flush=False)
    else:  # A: BTC +2 000 closed into the wallet, then ETH -100: equity 11 900, peak 12 000
        venue.balance(account, 10_000.0, flush=False)
        venue.position(account, "BTCUSDT", 2_000.0, flush=False)
        venue.close(account, "BTCUSDT", 2_000.0, flush=False)
        venue.balance(account, 12_000.0, flush=False)
        venue.position(account, "ETHUSDT", -100.0, flush=False)


def _wait_accounts(bench: Bench, sequences: dict[str, int]) -> dict[str, AccountView]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        held = read_accounts({"bootstrap.servers": bench.stack.kafka}, bench.app_id)
        if all(a in held and held[a].state.sequence == s for a, s in sequences.items()):
            return held
        time.sleep(0.5)
    raise AssertionError(
        f"the breaker never applied every update:\n{bench.log.read_text()[-3000:]}"
    )


def test_breaker_when_histories_published_while_down_then_true_positions_and_peaks(
    bench: Bench,
) -> None:
    """The outside tester's reproduction: 3 of 10 B accounts tripped at a phantom 9 000,
    every C kept a closed SOLUSDT open, every A kept BTCUSDT open with a 14 000 peak."""
    kinds = {f"{kind}{i}": kind for i in range(10) for kind in "BCA"}
    with running_worker(bench.env, bench.app_id, bench.log):
        bench.wait_policy(lambda _active: True)  # the worker seeds the policy, then stops
    for account, kind in kinds.items():
        _history(bench, kind, account)
    bench.venue.flush()
    sequences = {a: bench.venue.book.accounts[a].sequence for a in kinds}

    with running_worker(bench.env, bench.app_id, bench.log):
        held = _wait_accounts(bench, sequences)
        triggers = bench.triggers(0, settle=3.0)

    assert triggers == []
    truth = {
        "B": ({"BTCUSDT": -1_000.0}, 11_000.0, 12_000.0),
        "C": ({}, 10_500.0, 10_500.0),
        "A": ({"ETHUSDT": -100.0}, 11_900.0, 12_000.0),
    }
    for account, kind in kinds.items():
        state = held[account].state
        assert (dict(state.positions), state.equity, state.peak_equity) == truth[kind], account
        assert not state.latched


def _policy(bench: Bench, change: str) -> None:
    result = CliRunner().invoke(
        cli, ["policy", "set", "normal", change, "--by", "t", "--reason", "t"], env=bench.env
    )
    assert result.exit_code == 0, str(result.exception)


def _mark_every_half_second(bench: Bench, accounts: list[str], stop: threading.Event) -> None:
    pnl = 0.0
    while not stop.is_set():
        pnl = -pnl + 1.0
        for account in accounts:
            bench.venue.position(account, "BTCUSDT", pnl, flush=False)
        bench.venue.flush()
        stop.wait(0.5)


def _account_transitions(bench: Bench) -> list[dict[str, Any]]:
    target = contract(ESS_TRANSITION, bench.names)
    raw = read_topic({"bootstrap.servers": bench.stack.kafka}, target.topic, 1, 5, settle=2.0)
    return [
        t
        for t in (bench.serde.decode(target, r.value) for r in raw)
        if t["scope"].startswith("account:")
    ]


def test_breaker_when_worker_lags_60s_then_catches_up_then_no_live_account_goes_stale(
    bench: Bench,
) -> None:
    """Issue 12.2: a worker behind on its input set all 200 accounts REDUCING while their
    updates were produced on time. A silent account in the same run still goes stale."""
    live = [f"live-{i}" for i in range(20)]
    with running_worker(bench.env, bench.app_id, bench.log) as worker:
        bench.wait_policy(lambda _active: True)
        _policy(bench, "stale_after_seconds=5")
        bench.wait_policy(lambda active: active.values.stale_after_seconds == 5)
        bench.venue.balance("silent", 10_000.0)
        bench.venue.position("silent", "ETHUSDT", 10.0)
        for account in live:
            bench.venue.balance(account, 10_000.0, flush=False)
        stop_worker(worker)
    stop = threading.Event()
    marker = threading.Thread(target=_mark_every_half_second, args=(bench, live, stop))
    marker.start()
    try:
        time.sleep(60)  # the worker is 60 s behind when it starts again
        with running_worker(bench.env, bench.app_id, bench.log):
            deadline = time.monotonic() + 60
            reduced: list[dict[str, Any]] = []
            while not reduced and time.monotonic() < deadline:
                reduced = _account_transitions(bench)
            time.sleep(10)  # caught up, live accounts keep marking: none may go stale
            transitions = _account_transitions(bench)
    finally:
        stop.set()
        marker.join(30)

    assert [(t["scope"], t["state"], t["trigger"]) for t in transitions] == [
        ("account:silent", "REDUCING", "STALE_DATA")
    ]
