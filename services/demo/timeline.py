"""A timeline line for each kind of event: the fields that matter to a trader, in words.

Pure. :func:`moment` turns any event read back into a :class:`Moment`; a judge picks which
events its timeline shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_RESET,
    CIRCUIT_BREAKER_TRIGGERED,
    ESS_COMMAND,
    ESS_TRANSITION,
    MARKET_PRICE,
    MODEL_LOAD_FAILED,
    MODEL_LOADED,
    MODEL_PROMOTED,
    ORDER_FAILED,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    POLICY_ACTIVATED,
    POLICY_UPDATED,
    RISK_WARNING,
    STRATEGY_SWITCHED,
    SYSTEM_RECOVERY,
    TRADE_SIGNAL,
)
from services.demo.events import equity_of
from services.demo.model import Event, Moment


def _signal(e: Event) -> str:
    return (
        f"{e['account_id']} {e['action']} {e['symbol']} conf {e['confidence']:.2f} "
        f"({e['model_name']} {e['model_version']})"
    )


def _requested(e: Event) -> str:
    reduce = " reduce-only" if e["reduce_only"] else ""
    return (
        f"{e['account_id']} {e['side']} {e['quantity']:.6g} {e['symbol']} @ {e['price']:.2f} "
        f"notional {e['notional']:.2f}{reduce} ACCEPTED [{e['strategy']}, "
        f"{e['policy_profile']} v{e['policy_version']}, ESS {e['ess_state']}, "
        f"model {e['model_version']}]"
    )


def _rejected(e: Event) -> str:
    return (
        f"{e['account_id']} {e['action']} {e['symbol']} conf {e['confidence']:.2f} "
        f"REFUSED {e['reason']}: {e['detail']} [{e.get('strategy')}, {e.get('policy_profile')}]"
    )


def _account(e: Event) -> str:
    positions = ", ".join(
        f"{p['side']} {p['quantity']:.4g} {p['symbol']} upnl {p['unrealized_pnl']:+.2f}"
        for p in e["positions"]
    )
    closed = "".join(
        f"; closed {c['symbol']} realized {c['realized_pnl']:+.2f}" for c in e["closed"]
    )
    return (
        f"{e['account_id']} #{e['sequence']} {e['reason']} equity {equity_of(e):,.2f} "
        f"wallet {e['wallet_balance']:,.2f} [{positions or 'flat'}]{closed}"
    )


def _warning(e: Event) -> str:
    return (
        f"{e['account_id']} {e['rule']} {e['value']:.2%} >= {e['warn_fraction']:.0%} of limit "
        f"{e['limit']:.2%} (episode {e['episode']})"
    )


def _triggered(e: Event) -> str:
    return (
        f"{e['account_id']} {e['rule']} drawdown {e['drawdown']:.2%} / daily loss "
        f"{e['daily_loss']:.2%} > {e['threshold']:.2%}; equity {e['equity']:,.2f} peak "
        f"{e['peak_equity']:,.2f} (episode {e['episode']}, policy {e['policy_profile']} "
        f"v{e['policy_version']})"
    )


def _transition(e: Event) -> str:
    return (
        f"{e['scope']} {e['previous']} -> {e['state']} v{e['version']} ({e['trigger']}, "
        f"by {e['by']}: {e['reason']})"
    )


def _command(e: Event) -> str:
    return f"{e['kind']} {e['scope']} ({e['trigger']}) by {e['by']}: {e['reason']}"


def _activated(e: Event) -> str:
    return f"{e['scope']} -> {e['profile']} v{e['profile_version']} (by {e['by']}: {e['reason']})"


def _updated(e: Event) -> str:
    return (
        f"{e['profile']} v{e['version']} max_drawdown {e['max_drawdown']:.2%} max_risk_per_trade "
        f"{e['max_risk_per_trade']:.2%} (by {e['author']}: {e['reason']})"
    )


def _switched(e: Event) -> str:
    return (
        f"{e['scope']} {e.get('previous') or 'moderate'} -> {e['strategy']} v{e['version']} "
        f"(by {e['by']}: {e['reason']})"
    )


def _recovery(e: Event) -> str:
    delay = f" in {e['delay_ms'] / 1000:.2f} s" if e["delay_ms"] else ""
    error = f": {e['error']}" if e.get("error") else ""
    escalated = f" -> {e['escalated_to']}" if e.get("escalated_to") else ""
    return (
        f"{e['subsystem']} episode {e['episode']} attempt {e['attempt']} "
        f"{e['outcome']}{delay}{escalated}{error}"
    )


def _reset(e: Event) -> str:
    return f"{e['account_id']} episode {e['episode']} by {e['by']}: {e['reason']}"


def _price(e: Event) -> str:
    return f"{e['symbol']} {e['price']:,.2f}"


def _failed(e: Event) -> str:
    return f"{e['account_id']} order {e['order_id'][:8]} {e['reason']}: {e['detail']}"


def _promoted(e: Event) -> str:
    rollback = f" ROLLBACK of {e['rollback_of']}" if e.get("rollback_of") else ""
    return (
        f"{e['model_name']} {e['version']}{rollback} sha256 {str(e['sha256'])[:12]}… "
        f"(previous {e.get('previous_version')}, by {e['promoted_by']})"
    )


def _loaded(e: Event) -> str:
    return ", ".join(f"{k} {v}" for k, v in e.value.items() if k != "envelope")


_TEXT: dict[str, Callable[[Event], str]] = {
    TRADE_SIGNAL.name: _signal,
    ORDER_REQUESTED.name: _requested,
    ORDER_REJECTED.name: _rejected,
    ORDER_FAILED.name: _failed,
    ACCOUNT_UPDATED.name: _account,
    RISK_WARNING.name: _warning,
    CIRCUIT_BREAKER_TRIGGERED.name: _triggered,
    CIRCUIT_BREAKER_RESET.name: _reset,
    ESS_TRANSITION.name: _transition,
    ESS_COMMAND.name: _command,
    POLICY_ACTIVATED.name: _activated,
    POLICY_UPDATED.name: _updated,
    STRATEGY_SWITCHED.name: _switched,
    SYSTEM_RECOVERY.name: _recovery,
    MARKET_PRICE.name: _price,
    MODEL_PROMOTED.name: _promoted,
    MODEL_LOADED.name: _loaded,
    MODEL_LOAD_FAILED.name: _loaded,
}


def moment(event: Event) -> Moment:
    text = _TEXT.get(event.topic)
    body = (
        text(event)
        if text is not None
        else ", ".join(f"{k} {v}" for k, v in event.value.items() if k != "envelope")
    )
    return Moment(event.readable, event.topic, body)


def moments(events: Iterable[Event]) -> list[Moment]:
    return [moment(event) for event in events]


def note(at: int, text: str) -> Moment:
    """A line for what the demo itself did (a kill, a measurement), marked as such."""
    return Moment(at, "(demo)", text)


def ordered(lines: Iterable[Moment]) -> list[Moment]:
    return sorted(lines, key=lambda line: line.at)
