"""``trade.signal`` records in, ``order.requested`` / ``order.rejected`` records out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.enums import SignalAction
from schemas.envelope import envelope
from streams.strategy import Accept, Decision, DecisionContext, Signal
from streams.strategy.switches import Switch


def signal_from_record(record: Mapping[str, Any]) -> Signal:
    return Signal(
        signal_id=str(record["signal_id"]),
        account_id=str(record["account_id"]),
        symbol=str(record["symbol"]),
        action=SignalAction(record["action"]),
        confidence=float(record["confidence"]),
        model_name=str(record["model_name"]),
        model_version=str(record["model_version"]),
        quantity=record.get("quantity"),
        notional=record.get("notional"),
    )


def decision_record(
    signal: Mapping[str, Any],
    decision: Decision,
    context: DecisionContext,
    switch: Switch | None,
    producer: str,
) -> dict[str, Any]:
    """The record of ``decision``, made in ``context``: what it used (strategy, policy
    version and hash, ESS state and version, model) is on the record. The event id is the
    order id, so one signal's decision is one event however often it is made."""
    now = context.now
    cause = signal["envelope"]
    head = envelope(
        producer,
        now,
        event_id=decision.order.order_id if isinstance(decision, Accept) else decision.order_id,
        correlation_id=cause.get("correlation_id") or cause["event_id"],
        causation_id=cause["event_id"],
    )
    strategy_switch = {
        "strategy_scope": None if switch is None else str(switch.scope),
        "strategy_version": None if switch is None else switch.version,
    }
    if isinstance(decision, Accept):
        order = decision.order
        policy = order.policy
        return {
            "envelope": head,
            "order_id": order.order_id,
            "signal_id": order.signal_id,
            "account_id": order.account_id,
            "symbol": order.symbol,
            "side": order.side.value,
            "quantity": order.quantity,
            "price": order.price,
            "notional": order.notional,
            "leverage": order.leverage,
            "reduce_only": order.reduce_only,
            "strategy": order.strategy.value,
            "policy_profile": None if policy is None else policy.profile.value,
            "policy_version": None if policy is None else policy.version,
            "policy_hash": None if policy is None else policy.hash,
            "ess_state": order.ess_state.value,
            "ess_version": order.ess_version,
            "model_name": order.model_name,
            "model_version": order.model_version,
            **strategy_switch,
        }
    policy = context.policy
    return {
        "envelope": head,
        "order_id": decision.order_id,
        "signal_id": str(signal["signal_id"]),
        "account_id": str(signal["account_id"]),
        "symbol": str(signal["symbol"]),
        "action": str(signal["action"]),
        "confidence": float(signal["confidence"]),
        "reason": decision.reason.value,
        "detail": decision.detail,
        "strategy": context.strategy.value,
        "policy_profile": None if policy is None else policy.profile.value,
        "policy_version": None if policy is None else policy.version,
        "policy_hash": None if policy is None else policy.hash,
        "ess_state": context.ess.state.value,
        "ess_version": context.ess.version,
        "model_name": str(signal["model_name"]),
        "model_version": str(signal["model_version"]),
        **strategy_switch,
    }
