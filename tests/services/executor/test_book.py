"""The executor's folded state and its decision records, without Kafka."""

from __future__ import annotations

from typing import Any

from schemas.enums import EssState, StrategyName
from services.executor import book as book_module
from services.executor.book import AccountBook, ControlState, Readiness, context_for
from services.executor.records import decision_record, signal_from_record
from streams.strategy import Accept, Reject, decide
from streams.strategy.switches import Switch, switch_scope


def _signal(**overrides: Any) -> dict[str, Any]:
    record = {
        "envelope": {"event_id": "e1", "event_time": 1, "correlation_id": None},
        "signal_id": "s1",
        "account_id": "a1",
        "symbol": "BTC",
        "action": "CLOSE",
        "confidence": 0.9,
        "model_name": "m",
        "model_version": "v1",
        "strategy": None,
        "quantity": None,
        "notional": None,
    }
    return {**record, **overrides}


def _snapshot(
    sequence: int,
    *positions: tuple[str, str, float],
    wallet: float = 1_000.0,
    equity: float | None = None,
    order_id: str | None = None,
) -> dict[str, Any]:
    """An ``account.updated`` of a1 listing ``positions`` (symbol, side, quantity)."""
    return {
        "account_id": "a1",
        "sequence": sequence,
        "reason": "FILL" if order_id else "MARK",
        "wallet_balance": wallet,
        "equity": equity,
        "positions": [
            {
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "mark_price": 100.0,
                "unrealized_pnl": 5.0,
            }
            for symbol, side, quantity in positions
        ],
        "order_id": order_id,
    }


def _position(side: str, quantity: float, cause: str | None = None) -> dict[str, Any]:
    return _snapshot(1, ("BTC", side, quantity), order_id=cause)


def _accepted(
    order_id: str, symbol: str, at: int, reduce_only: bool = False, side: str = "BUY"
) -> dict[str, Any]:
    return {
        "envelope": {"event_time": at},
        "signal_id": f"signal-{order_id}",
        "order_id": order_id,
        "account_id": "a1",
        "symbol": symbol,
        "side": side,
        "quantity": 1.5,
        "notional": 150.0,
        "reduce_only": reduce_only,
    }


def test_accounts_when_positions_change_then_signed_and_closed() -> None:
    accounts = AccountBook()
    accounts.apply_account_update(_snapshot(1, ("BTC", "SHORT", 2.0)))
    assert accounts.signed_positions("a1") == {"BTC": -2.0}
    assert accounts.open_notional("a1") == 200.0
    accounts.apply_account_update(_snapshot(2))
    assert accounts.signed_positions("a1") == {}


def test_accounts_when_an_older_snapshot_arrives_late_then_a_closed_position_stays_closed() -> None:
    """Issue 12.4: a position.updated stamped with its close, read after it, kept a closed
    position open, and the executor sent reduce-only orders for it for a minute."""
    accounts = AccountBook()
    opened, closed = _snapshot(1, ("BTC", "LONG", 1.0)), _snapshot(2)
    accounts.apply_account_update(closed)
    accounts.apply_account_update(opened)
    assert accounts.signed_positions("a1") == {}


def test_accounts_when_snapshot_has_no_equity_then_wallet_plus_unrealized() -> None:
    accounts = AccountBook()
    accounts.apply_account_update(_snapshot(1, ("BTC", "LONG", 1.0), wallet=900.0))
    assert accounts.equity["a1"] == 905.0
    accounts.apply_account_update(_snapshot(2, ("BTC", "LONG", 1.0), wallet=900.0, equity=950.0))
    assert accounts.equity["a1"] == 950.0


def test_accounts_when_more_decisions_than_memory_then_oldest_forgotten(monkeypatch: Any) -> None:
    monkeypatch.setattr(book_module, "DECIDED_MEMORY", 3)
    accounts = AccountBook()
    for signal_id in ("s1", "s2", "s3", "s4"):
        accounts.remember(signal_id)
    assert not accounts.seen("s1")
    assert accounts.seen("s4")


def test_context_when_account_switched_and_strategy_scope_tripped_then_both_apply() -> None:
    control = ControlState()
    control.strategies.apply(Switch(switch_scope("account:a1"), StrategyName.AGGRESSIVE, 1))
    control.apply_ess_state(
        {"scope": "strategy:aggressive", "state": "TRIPPED", "version": 2, "since": 0}
    )
    control.apply_ess_state(  # an older version of the same scope changes nothing
        {"scope": "strategy:aggressive", "state": "ARMED", "version": 1, "since": 0}
    )
    signal = signal_from_record(_signal(action="BUY"))
    context = context_for(
        signal, control, AccountBook(), Readiness(ready=True, heartbeat_bound_ms=5_000), now=10
    )
    assert context.strategy is StrategyName.AGGRESSIVE
    assert (context.ess.state, context.ess.version) == (EssState.TRIPPED, 2)


def test_record_when_close_without_policy_then_policy_fields_null_and_ids_derived() -> None:
    accounts = AccountBook()
    accounts.apply_account_update(_position("LONG", 1.0))
    control = ControlState(prices={"BTC": 100.0})
    signal = signal_from_record(_signal())
    context = context_for(
        signal, control, accounts, Readiness(ready=True, heartbeat_bound_ms=5_000), now=10
    )
    decision = decide(signal, context)
    assert isinstance(decision, Accept)
    record = decision_record(_signal(), decision, context, None, "test")
    assert record["envelope"]["event_id"] == decision.order.order_id
    assert record["envelope"]["causation_id"] == "e1"
    assert (record["policy_hash"], record["strategy_version"]) == (None, None)
    assert record["reduce_only"] is True


def test_record_when_rejected_then_it_names_what_the_decision_used() -> None:
    control = ControlState()
    switch = Switch(switch_scope("global"), StrategyName.DEFENSIVE, 4)
    control.strategies.apply(switch)
    signal = signal_from_record(_signal(action="BUY"))
    context = context_for(
        signal, control, AccountBook(), Readiness(ready=False, heartbeat_bound_ms=5_000), now=10
    )
    decision = decide(signal, context)
    assert isinstance(decision, Reject)
    record = decision_record(_signal(action="BUY"), decision, context, switch, "test")
    assert record["reason"] == "STATE_NOT_READY"
    assert (record["strategy"], record["strategy_scope"], record["strategy_version"]) == (
        "defensive",
        "global",
        4,
    )
    assert record["ess_state"] == "ARMED"


def test_in_flight_when_order_accepted_then_counted_until_its_fill_is_seen() -> None:
    accounts = AccountBook()
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    accounts.apply_decision(_accepted("o2", "ETH", at=1_000), accepted=True)
    accounts.apply_decision(_accepted("o3", "SOL", at=1_000, reduce_only=True), accepted=True)
    assert accounts.in_flight_for("a1", now=2_000) == {"BTC": 150.0, "ETH": 150.0}
    assert accounts.in_flight_for("a2", now=2_000) == {}

    accounts.apply_account_update(_position("LONG", 1.5, cause="o1"))
    assert accounts.in_flight_for("a1", now=2_000) == {"ETH": 150.0}


def test_in_flight_when_orders_accepted_then_their_signed_quantities_are_pending() -> None:
    accounts = AccountBook()
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    accounts.apply_decision(_accepted("o2", "BTC", at=1_000), accepted=True)
    accounts.apply_decision(_accepted("o3", "ETH", at=1_000, side="SELL"), accepted=True)
    assert accounts.in_flight_quantities("a1", now=2_000) == {"BTC": 3.0, "ETH": -1.5}

    accounts.apply_account_update(_position("LONG", 1.5, cause="o1"))
    assert accounts.in_flight_quantities("a1", now=2_000) == {"BTC": 1.5, "ETH": -1.5}


def test_close_when_decided_before_the_executor_reads_the_open_fill_then_closes_it() -> None:
    """The demo's scenario 2 failed on this: the strategy saw its BUY filled and sent a
    CLOSE at once; the executor had not read that fill yet and refused the close
    NO_POSITION_TO_CLOSE, leaving the position open."""
    accounts = AccountBook()
    accounts.apply_account_update(_snapshot(1))
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    control = ControlState()
    control.prices["BTC"] = 100.0
    signal = signal_from_record(_signal(action="CLOSE", symbol="BTC"))
    context = context_for(
        signal, control, accounts, Readiness(ready=True, heartbeat_bound_ms=5_000), now=1_010
    )

    decision = decide(signal, context)

    assert isinstance(decision, Accept)
    assert (decision.order.side, decision.order.quantity) == ("SELL", 1.5)
    assert decision.order.reduce_only


def test_in_flight_when_fill_replayed_before_its_order_then_order_not_counted() -> None:
    accounts = AccountBook()  # after a restart the two topics replay in any order
    accounts.apply_account_update(_position("LONG", 1.5, cause="o1"))
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    assert accounts.in_flight_for("a1", now=2_000) == {}


def test_in_flight_when_no_fill_within_ttl_then_stops_counting() -> None:
    accounts = AccountBook()
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    assert accounts.in_flight_for("a1", now=1_000 + book_module.IN_FLIGHT_TTL_MS) == {"BTC": 150.0}
    assert accounts.in_flight_for("a1", now=1_001 + book_module.IN_FLIGHT_TTL_MS) == {}
    assert accounts.in_flight_count() == 0


def _failed(order_id: str) -> dict[str, Any]:
    return {"envelope": {"causation_id": order_id}, "account_id": "a1", "order_id": order_id}


def test_in_flight_when_venue_reports_the_order_failed_then_stops_counting() -> None:
    accounts = AccountBook()
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    accounts.apply_decision(_accepted("o2", "ETH", at=1_000), accepted=True)
    accounts.apply_order_failed(_failed("o1"))
    assert accounts.in_flight_for("a1", now=2_000) == {"ETH": 150.0}


def test_in_flight_when_failure_replayed_before_its_order_then_order_not_counted() -> None:
    accounts = AccountBook()
    accounts.apply_order_failed(_failed("o1"))
    accounts.apply_decision(_accepted("o1", "BTC", at=1_000), accepted=True)
    assert accounts.in_flight_count() == 0
