"""The book's effects as Avro records of their topics, with the envelope filled in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    BALANCE_UPDATED,
    ORDER_FAILED,
    POSITION_CLOSED,
    POSITION_UPDATED,
    TopicSpec,
)
from schemas.enums import OrderSide, PositionSide
from schemas.envelope import envelope
from services.exchange.book import Order
from services.exchange.effects import (
    AccountSnapshot,
    BalanceUpdate,
    Effect,
    OrderFailure,
    PositionClose,
    PositionUpdate,
)
from services.exchange.trade import Holding

PRODUCER = "hfos-exchange"
WRITES = (ACCOUNT_UPDATED, POSITION_UPDATED, POSITION_CLOSED, BALANCE_UPDATED, ORDER_FAILED)
"""Every topic the exchange writes."""


@dataclass(frozen=True)
class Cause:
    """What an effect answers: the causing event (an order or a price; None for a funding)
    and the causal chain it belongs to. ``now_ms`` is the effect's event time."""

    event_id: str | None
    correlation_id: str | None
    now_ms: int


def topic_of(effect: Effect) -> TopicSpec:
    if isinstance(effect, AccountSnapshot):
        return ACCOUNT_UPDATED
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
    if isinstance(effect, AccountSnapshot):
        return {
            "envelope": env,
            "account_id": effect.account_id,
            "sequence": effect.sequence,
            "reason": effect.reason.value,
            "wallet_balance": effect.wallet_balance,
            "equity": effect.equity,
            "positions": [open_record(symbol, held) for symbol, held in effect.positions],
            "closed": [closed_record(close) for close in effect.closed],
            "order_id": effect.order_id,
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


def open_record(symbol: str, held: Holding) -> dict[str, Any]:
    """An ``hfos.OpenPosition`` of an ``account.updated``."""
    return {
        "symbol": symbol,
        "side": held.side.value,
        "quantity": abs(held.quantity),
        "entry_price": held.entry_price,
        "mark_price": held.mark_price,
        "unrealized_pnl": held.unrealized_pnl,
        "leverage": held.leverage,
    }


def closed_record(close: PositionClose) -> dict[str, Any]:
    """An ``hfos.ClosedPosition`` of an ``account.updated``."""
    return {
        "symbol": close.symbol,
        "side": close.side.value,
        "quantity": close.quantity,
        "entry_price": close.entry_price,
        "exit_price": close.exit_price,
        "realized_pnl": close.realized_pnl,
        "exit_reason": close.exit_reason.value,
    }


def holding_of(position: Mapping[str, Any]) -> Holding:
    """The book's holding from an ``hfos.OpenPosition`` (the exchange's rebuild)."""
    sign = 1.0 if position["side"] == PositionSide.LONG.value else -1.0
    return Holding(
        quantity=sign * float(position["quantity"]),
        entry_price=float(position["entry_price"]),
        mark_price=float(position["mark_price"]),
        leverage=float(position["leverage"]),
    )


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
