"""The executor on the real stack (SPEC §5): every reject reason, REDUCING and TRIPPED
semantics, redelivery, strategy switches applied before the next decision, fail-closed
start and the dead-man's switch."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas import dlq
from schemas.catalogue import (
    ESS_STATE,
    ORDER_FAILED,
    POLICY_ACTIVATED,
    POLICY_UPDATED,
    STRATEGY_SWITCHED,
    TRADE_SIGNAL,
    dlq_name,
)
from schemas.contracts import contract
from schemas.enums import EssState, StrategyName
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.desk import Desk, running_executor, start_executor_process
from services.testing.kafka import read_topic

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]


@pytest.fixture
def desk(stack: Servers, serde: AvroSerde, producer: EventProducer) -> Iterator[Desk]:
    desk = Desk(stack.kafka, serde, producer)
    yield desk
    desk.close()


def test_executor_when_signals_break_each_rule_then_each_reason_is_recorded(desk: Desk) -> None:
    accounts = ["conf", "size", "lev", "open", "cool", "model", "price", "close", "trip", "ok"]
    desk.ready_market(accounts, ["BTC", "ETH", "SOL", "XRP", "ADA", "DOT"])
    desk.position("lev", "ETH", 499.0, 100.0)  # 49 900 open: 5x of 10 000 is 50 000
    for symbol in ("BTC", "ETH", "SOL", "XRP", "ADA"):
        desk.position("open", symbol, 0.1, 100.0)  # moderate: at most 5 open
    desk.ess("account:trip", EssState.TRIPPED, 1)
    with running_executor(desk):
        expected = {
            desk.signal("conf", "BTC", confidence=0.3): "BELOW_MIN_CONFIDENCE",
            desk.signal("size", "BTC", notional=5_000.0): "SIZE_CAP",
            desk.signal("lev", "BTC"): "LEVERAGE_CAP",
            desk.signal("open", "DOT"): "MAX_OPEN_POSITIONS",
            desk.signal("model", "BTC", model_version="v0-unknown"): "UNKNOWN_MODEL_VERSION",
            desk.signal("price", "NOPRICE"): "NO_MARKET_PRICE",
            desk.signal("close", "BTC", "CLOSE"): "NO_POSITION_TO_CLOSE",
            desk.signal("trip", "BTC"): "ESS_TRIPPED",
            desk.signal("ok", "BTC"): "ACCEPTED",
        }
        first = desk.signal("cool", "BTC")
        assert desk.decisions(len(expected) + 1)[first]["outcome"] == "ACCEPTED"
        expected[desk.signal("cool", "BTC")] = "SYMBOL_COOLDOWN"  # moderate: 300 s per symbol
        decided = desk.decisions(len(expected) + 1)

    assert {sid: decided[sid]["outcome"] for sid in expected} == expected
    accepted = decided[next(s for s, o in expected.items() if o == "ACCEPTED")]
    # 10 000 x min(moderate 5 %, normal max_risk_per_trade 1.5 %) = 150 at a price of 100.
    assert accepted["quantity"] == pytest.approx(1.5)
    assert accepted["strategy"] == "moderate"
    assert accepted["policy_profile"] == "normal"
    assert len(accepted["policy_hash"]) == 64
    assert (accepted["ess_state"], accepted["model_version"]) == ("ARMED", "v1")


def test_executor_when_burst_for_new_symbols_before_any_fill_then_in_flight_orders_count(
    desk: Desk,
) -> None:
    # No exchange runs: nothing is filled, so every accepted order stays in flight and
    # takes one of moderate's 5 open-position slots (and its notional counts as exposure).
    symbols = [f"S{i}" for i in range(7)]
    desk.ready_market(["burst"], symbols)
    with running_executor(desk):
        sent = [desk.signal("burst", symbol) for symbol in symbols]
        decided = desk.decisions(len(sent))

    outcomes = [decided[signal_id]["outcome"] for signal_id in sent]
    assert outcomes == ["ACCEPTED"] * 5 + ["MAX_OPEN_POSITIONS"] * 2


def test_executor_when_venue_reports_orders_failed_then_they_stop_counting_in_flight(
    desk: Desk,
) -> None:
    symbols = [f"S{i}" for i in range(7)]
    desk.ready_market(["burst"], symbols)
    with running_executor(desk):
        first = [desk.signal("burst", symbol) for symbol in symbols[:5]]
        decided = desk.decisions(len(first))
        for signal_id in first[:2]:
            order = decided[signal_id]
            desk.send(
                ORDER_FAILED,
                "burst",
                {
                    "envelope": envelope("venue", int(time.time() * 1000)),
                    "order_id": order["order_id"],
                    "account_id": "burst",
                    "symbol": order["symbol"],
                    "reason": "UNKNOWN_ACCOUNT",
                    "detail": "not funded",
                },
            )
        # Account topics are read as they come, not up to a barrier: give the state
        # consumer (polled every step, 50 ms) time to read the two failures.
        time.sleep(2)
        then = [desk.signal("burst", symbol) for symbol in symbols[5:]]
        decided = desk.decisions(len(first) + len(then))

    assert [decided[s]["outcome"] for s in first] == ["ACCEPTED"] * 5
    assert [decided[s]["outcome"] for s in then] == ["ACCEPTED"] * 2


def test_executor_when_reducing_then_closes_and_reductions_pass_and_increases_refused(
    desk: Desk,
) -> None:
    desk.ready_market(["r1", "r2", "t1"], ["BTC"])
    desk.position("r1", "BTC", 2.0, 100.0)
    desk.position("t1", "BTC", 2.0, 100.0)
    desk.ess("global", EssState.REDUCING, 1)
    desk.ess("account:t1", EssState.TRIPPED, 1)
    with running_executor(desk):
        expected = {
            desk.signal("r1", "BTC", "SELL", quantity=1.0): "ACCEPTED",  # reduces the long
            desk.signal("r1", "BTC", "BUY", quantity=0.5): "ESS_REDUCING",  # increases it
            desk.signal("r1", "BTC", "SELL", quantity=5.0): "ESS_REDUCING",  # flips it
            desk.signal("r2", "BTC", "BUY"): "ESS_REDUCING",  # opens from flat
            desk.signal("r1", "BTC", "CLOSE"): "ACCEPTED",
            desk.signal("t1", "BTC", "SELL", quantity=1.0): "ESS_TRIPPED",
            desk.signal("t1", "BTC", "CLOSE"): "ACCEPTED",  # exits are never blocked
        }
        decided = desk.decisions(len(expected))
    assert {sid: decided[sid]["outcome"] for sid in expected} == expected
    closes = [d for d in decided.values() if d["outcome"] == "ACCEPTED" and d["reduce_only"]]
    assert len(closes) == 3
    assert {d["ess_state"] for d in decided.values()} == {"REDUCING", "TRIPPED"}


def test_executor_when_signal_published_twice_then_one_order(desk: Desk) -> None:
    desk.ready_market(["d1"], ["BTC"])
    with running_executor(desk):
        signal_id = desk.signal("d1", "BTC")
        assert desk.decisions(1)[signal_id]["outcome"] == "ACCEPTED"
        desk.signal("d1", "BTC", signal_id=signal_id)
        marker = desk.signal("d1", "ETH", "CLOSE")  # decided after the duplicate
        assert marker in desk.decisions(2)
    decisions = desk.decision_list()
    assert [d["signal_id"] for d in decisions].count(signal_id) == 1
    # restarted: the new executor rebuilds what was decided from its own output
    with running_executor(desk):
        desk.signal("d1", "BTC", signal_id=signal_id)
        marker = desk.signal("d1", "SOL", "CLOSE")
        assert marker in desk.decisions(3)
    assert [d["signal_id"] for d in desk.decision_list()].count(signal_id) == 1


def test_executor_when_strategy_switched_between_signals_then_no_decision_uses_old_one(
    desk: Desk,
) -> None:
    accounts = [f"s{i}" for i in range(8)]
    desk.ready_market(accounts, ["BTC"])
    cycle = [StrategyName.CONSERVATIVE, StrategyName.AGGRESSIVE, StrategyName.DEFENSIVE]
    switched = {0: StrategyName.MODERATE}
    in_force_when_sent: dict[str, int] = {}
    with running_executor(desk):
        warm = desk.signal("s0", "BTC", "CLOSE")
        desk.decisions(1)  # the executor is deciding: what follows interleaves with it
        for version in range(1, 41):
            switched[version] = cycle[version % len(cycle)]
            desk.switch(switched[version], version)  # acknowledged before the next signal
            for account in accounts[: 1 + version % len(accounts)]:
                in_force_when_sent[desk.signal(account, "BTC", "CLOSE")] = version
        decided = desk.decisions(len(in_force_when_sent) + 1, timeout=60)
    assert decided[warm]["strategy_version"] is None
    for signal_id, version in in_force_when_sent.items():
        used = decided[signal_id]
        # never older than the switch acknowledged before the signal was sent; a newer one
        # is right too (the switch came before the decision), and it is recorded exactly
        assert used["strategy_version"] >= version, (signal_id, used, version)
        assert used["strategy"] == switched[used["strategy_version"]].value
        assert used["strategy_scope"] == "global"


def test_executor_when_account_has_own_strategy_then_it_overrides_global(desk: Desk) -> None:
    desk.ready_market(["own", "shared"], ["BTC"])
    desk.switch(StrategyName.AGGRESSIVE, 1)
    desk.switch(StrategyName.DEFENSIVE, 1, scope="account:own")
    with running_executor(desk):
        own, shared = desk.signal("own", "BTC"), desk.signal("shared", "BTC")
        decided = desk.decisions(2)
    assert decided[own]["strategy"] == "defensive"
    # defensive: 10 000 x 1 % = 100 at 100
    assert decided[own]["quantity"] == pytest.approx(1.0)
    assert decided[shared]["strategy"] == "aggressive"


def test_executor_when_control_topics_missing_then_state_not_ready_until_caught_up(
    stack: Servers, serde: AvroSerde, producer: EventProducer
) -> None:
    desk = Desk(stack.kafka, serde, producer, provision_topics=())
    control = {POLICY_UPDATED, POLICY_ACTIVATED, ESS_STATE, STRATEGY_SWITCHED}
    missing = {desk.names.name(spec) for spec in control}
    account_side = [spec for spec in desk.names.specs() if spec.name not in missing]
    provision(desk.admin, account_side)
    try:
        desk.promote()
        desk.price("BTC", 100.0)
        desk.balance("n1", 10_000.0)
        desk.start_heartbeats()
        with running_executor(desk, barrier_timeout_seconds=3.0):
            early = desk.signal("n1", "BTC")
            assert desk.decisions(1)[early]["outcome"] == "STATE_NOT_READY"
            desk.provision_all()
            desk.policy()
            late = desk.signal("n1", "BTC")
            assert desk.decisions(2)[late]["outcome"] == "ACCEPTED"
    finally:
        desk.close()


def test_executor_when_heartbeats_stop_then_stale_control_state_and_back(desk: Desk) -> None:
    desk.policy()
    desk.promote()
    desk.price("BTC", 100.0)
    desk.balance("h1", 10_000.0)
    desk.position("h1", "BTC", 1.0, 100.0)
    with running_executor(desk, heartbeat_bound_ms=1_000):
        stale = desk.signal("h1", "ETH")
        exit_ = desk.signal("h1", "BTC", "CLOSE")
        first = desk.decisions(2)
        desk.price("XRP", 10.0)
        desk.heartbeat()
        fresh = desk.signal("h1", "XRP", notional=50.0)
        second = desk.decisions(3)
    assert first[stale]["outcome"] == "STALE_CONTROL_STATE"
    assert first[exit_]["outcome"] == "ACCEPTED"  # exits are never blocked
    assert second[fresh]["outcome"] == "ACCEPTED"
    assert second[fresh]["quantity"] == pytest.approx(5.0)


def test_executor_when_policy_missing_or_closed_to_new_positions_then_refused(
    desk: Desk,
) -> None:
    desk.promote()
    desk.start_heartbeats()
    desk.price("BTC", 100.0)
    desk.balance("p1", 10_000.0)
    with running_executor(desk):
        none = desk.signal("p1", "BTC")
        assert desk.decisions(1)[none]["outcome"] == "POLICY_UNAVAILABLE"
        desk.policy(allow_new_positions=False)
        closed = desk.signal("p1", "BTC")
        assert desk.decisions(2)[closed]["outcome"] == "NEW_POSITIONS_DISABLED"


def test_executor_when_sigkilled_mid_stream_then_every_signal_decided_exactly_once(
    stack: Servers, desk: Desk, tmp_path: Path
) -> None:
    accounts = [f"k{i}" for i in range(6)]
    desk.ready_market(accounts, ["BTC"])
    for account in accounts:
        desk.position(account, "BTC", 1.0, 100.0)
    log = tmp_path / "executor.log"
    sent: list[str] = []
    executor = start_executor_process(stack.environ(), desk, log, "k1")
    try:
        for round_ in range(60):
            for account in accounts:
                action = "CLOSE" if round_ % 2 else "SELL"
                sent.append(desk.signal(account, "BTC", action, quantity=0.01))
            if round_ == 30:
                assert desk.decisions(1, timeout=60), log.read_text()[-2000:]
                executor.send_signal(signal.SIGKILL)  # mid-stream: decided, not all committed
                executor.wait(10)
                executor = start_executor_process(stack.environ(), desk, log, "k1")
        decided = desk.decisions(len(sent), timeout=90)
    finally:
        executor.send_signal(signal.SIGTERM)
        executor.wait(30)
    assert set(decided) == set(sent), log.read_text()[-2000:]
    committed = [d["signal_id"] for d in desk.decision_list()]
    assert len(committed) == len(sent)  # none twice: transactions + the decided-id memory
    assert executor.returncode == 0


def test_executor_when_signal_undecodable_or_invalid_then_dead_lettered_and_goes_on(
    desk: Desk,
) -> None:
    desk.ready_market(["q1"], ["BTC"])
    signals = desk.names.name(TRADE_SIGNAL)
    with running_executor(desk):
        desk.producer.send_raw(signals, "q1", b"\x00\x7f\xff\xff\xf0not avro")
        bad = desk.signal_record("q1", "BTC", confidence=1.5)  # outside [0, 1]
        desk.producer.send_raw(signals, "q1", desk.serde.encode(desk_contract(desk), bad))
        assert desk.producer.flush(30) == 0
        good = desk.signal("q1", "BTC")
        assert desk.decisions(1)[good]["outcome"] == "ACCEPTED"
    letters = read_topic(
        {"bootstrap.servers": desk.kafka}, dlq_name(signals), 2, timeout=30, settle=1.0
    )
    errors = sorted(dlq.read(letter.headers).error_type for letter in letters)
    assert errors == ["InvalidEventError", "UnknownSchemaIdError"]
    assert bad["signal_id"] not in {d["signal_id"] for d in desk.decision_list()}


def desk_contract(desk: Desk) -> Any:
    return contract(TRADE_SIGNAL, desk.names)
