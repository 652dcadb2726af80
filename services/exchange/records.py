"""The book's effects as Avro records of their topics, with the envelope filled in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.catalogue import BALANCE_UPDATED, POSITION_CLOSED, POSITION_UPDATED, TopicSpec
from schemas.enums import OrderSide
from schemas.envelope import envelope
from services.exchange.book import Order
from services.exchange.effects import (
    BalanceUpdate,
    Effect,
    OrderFailure,
    PositionClose,
    PositionUpdate,
)

PRODUCER = "hfos-exchange"


@dataclass(frozen=True)
class Cause:
    """What an effect answers: the causing event (an order or a price; None for a funding)
    and the causal chain it belongs to. ``now_ms`` is the effect's event time."""

    event_id: str | None
    correlation_id: str | None
    now_ms: int


def topic_of(effect: Effect) -> TopicSpec:
    if isinstance(effect, PositionUpdate):
        return POSITION_UPDATED
    if isinstance(effect, PositionClose):
        return POSITION_CLOSED
    return BALANCE_UPDATED


def record_of(effect: Effect, cause: Cause) -> dict[str, Any]:
    env = envelope(
        PRODUCER,
        cause.now_ms,
        event_id=effect.event_id,
        correlation_id=cause.correlation_id or cause.event_id,
        causation_id=cause.event_id,
    )
    if isinstance(effect, BalanceUpdate):
        return {
            "envelope": env,
            "account_id": effect.account_id,
            "wallet_balance": effect.wallet_balance,
            "equity": effect.equity,
        }
    body = {
        "envelope": env,
        "account_id": effect.account_id,
        "symbol": effect.symbol,
        "side": effect.side.value,
        "quantity": effect.quantity,
        "entry_price": effect.entry_price,
    }
    if isinstance(effect, PositionUpdate):
        return {
            **body,
            "mark_price": effect.mark_price,
            "unrealized_pnl": effect.unrealized_pnl,
            "leverage": effect.leverage,
        }
    return {
        **body,
        "exit_price": effect.exit_price,
        "realized_pnl": effect.realized_pnl,
        "exit_reason": effect.exit_reason.value,
        "order_id": effect.order_id,
    }


def failure_record(failure: OrderFailure, cause: Cause) -> dict[str, Any]:
    return {
        "envelope": envelope(
            PRODUCER,
            cause.now_ms,
            event_id=failure.event_id,
            correlation_id=cause.correlation_id or cause.event_id,
            causation_id=cause.event_id,
        ),
        "order_id": failure.order_id,
        "account_id": failure.account_id,
        "symbol": failure.symbol,
        "reason": failure.reason.value,
        "detail": failure.detail,
    }


def order_of(record: Mapping[str, Any]) -> Order:
    """The book's order from a decoded ``order.requested``."""
    return Order(
        order_id=str(record["order_id"]),
        account_id=str(record["account_id"]),
        symbol=str(record["symbol"]),
        side=OrderSide(record["side"]),
        quantity=float(record["quantity"]),
        price=float(record["price"]),
        leverage=float(record["leverage"]),
        reduce_only=bool(record["reduce_only"]),
    )
