"""The events of one scenario as read back from its topics, and the questions the
judges ask of them. Pure: the Kafka reader (:mod:`services.demo.reader`) fills it.

Positions and equity come from ``account.updated`` alone (the venue's whole account after
each change, SPEC §1): never from the per-kind topics, whose order against each other
Kafka does not keep.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    ESS_STATE,
    ESS_TRANSITION,
    ORDER_FAILED,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    TRADE_SIGNAL,
)
from services.demo.model import Event

ACCEPTED = "ACCEPTED"


@dataclass(frozen=True)
class Decision:
    """One executor decision, joined with the signal it decided."""

    event: Event
    signal: Event | None

    @property
    def at(self) -> int:
        return self.event.at

    @property
    def accepted(self) -> bool:
        return self.event.topic == ORDER_REQUESTED.name

    @property
    def outcome(self) -> str:
        return ACCEPTED if self.accepted else str(self.event["reason"])

    @property
    def signal_id(self) -> str:
        return str(self.event["signal_id"])

    @property
    def account(self) -> str:
        return str(self.event["account_id"])

    @property
    def symbol(self) -> str:
        return str(self.event["symbol"])

    @property
    def action(self) -> str:
        if self.signal is not None:
            return str(self.signal["action"])
        return str(self.event.get("action") or self.event.get("side"))

    @property
    def confidence(self) -> float | None:
        return None if self.signal is None else float(self.signal["confidence"])

    @property
    def opens(self) -> bool:
        """A BUY or SELL (new risk); a CLOSE is an exit."""
        return self.action in ("BUY", "SELL")

    def describe(self) -> str:
        size = f" notional {self.event['notional']:.2f}" if self.accepted else ""
        conf = "" if self.confidence is None else f" conf {self.confidence:.2f}"
        why = "" if self.accepted else f": {self.event.get('detail', '')}"
        return (
            f"{self.account} {self.action} {self.symbol}{conf} -> {self.outcome}{size} "
            f"[{self.event.get('strategy')}, {self.event.get('policy_profile')}, "
            f"ESS {self.event.get('ess_state')}]{why}"
        )


class EventLog:
    """Events by catalogue topic, in the order they were read; thread-safe appends (a
    live follower writes while a driver waits on a condition)."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._by_topic: dict[str, list[Event]] = defaultdict(list)
        self._lock = threading.Condition()
        self.undecodable: list[str] = []
        for event in events:
            self._by_topic[event.topic].append(event)

    # -- filling (the reader) -------------------------------------------------------------

    def add(self, events: Iterable[Event]) -> None:
        with self._lock:
            for event in events:
                self._by_topic[event.topic].append(event)
            self._lock.notify_all()

    def refuse(self, problem: str) -> None:
        with self._lock:
            self.undecodable.append(problem)

    def wait(self, predicate: Callable[[EventLog], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds (re-checked on every append)."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(self), timeout)

    # -- reading (the judges) -------------------------------------------------------------

    def of(self, *topics: str) -> list[Event]:
        """Every event of ``topics`` (catalogue names), by event time."""
        with self._lock:
            found = [event for topic in topics for event in self._by_topic.get(topic, ())]
        return sorted(found, key=lambda event: event.at)

    def every(self) -> list[Event]:
        """Every event, topic by topic in the order read."""
        with self._lock:
            return [event for events in self._by_topic.values() for event in events]

    def count(self, topic: str) -> int:
        with self._lock:
            return len(self._by_topic.get(topic, ()))

    def signals(self) -> dict[str, Event]:
        """Signal id -> the first ``trade.signal`` record with it."""
        found: dict[str, Event] = {}
        for event in self.of(TRADE_SIGNAL.name):
            found.setdefault(str(event["signal_id"]), event)
        return found

    def decisions(self) -> list[Decision]:
        """Every decision record (duplicates too), by decision time."""
        signals = self.signals()
        return [
            Decision(event, signals.get(str(event["signal_id"])))
            for event in self.of(ORDER_REQUESTED.name, ORDER_REJECTED.name)
        ]

    def fills(self) -> dict[str, list[Event]]:
        """Order id -> the ``account.updated`` FILL records the venue wrote for it."""
        found: dict[str, list[Event]] = defaultdict(list)
        for event in self.of(ACCOUNT_UPDATED.name):
            if event["reason"] == "FILL" and event.get("order_id"):
                found[str(event["order_id"])].append(event)
        return found

    def failed_orders(self) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = defaultdict(list)
        for event in self.of(ORDER_FAILED.name):
            found[str(event["order_id"])].append(event)
        return found

    def accounts(self, account: str) -> list[Event]:
        """The venue's snapshots of ``account``, in the venue's own order (sequence)."""
        snapshots = [e for e in self.of(ACCOUNT_UPDATED.name) if e["account_id"] == account]
        return sorted(snapshots, key=lambda event: int(event["sequence"]))

    def transitions(self, scope: str | None = None) -> list[Event]:
        found = self.of(ESS_TRANSITION.name)
        return found if scope is None else [e for e in found if e["scope"] == scope]

    def ess_states(self, scope: str) -> list[Event]:
        """``ess.state`` of ``scope``, by version."""
        found = [e for e in self.of(ESS_STATE.name) if e["scope"] == scope]
        return sorted(found, key=lambda event: int(event["version"]))

    def by_id(self, event_id: str) -> Event | None:
        with self._lock:
            every = [e for events in self._by_topic.values() for e in events]
        return next((event for event in every if event.event_id == event_id), None)


def equity_of(snapshot: Event) -> float:
    """An ``account.updated``'s equity: the venue's, else wallet + unrealized PnL."""
    equity = snapshot.get("equity")
    if equity is not None:
        return float(equity)
    return float(snapshot["wallet_balance"]) + sum(
        float(p["unrealized_pnl"]) for p in snapshot["positions"]
    )


def drawdowns(snapshots: Iterable[Event], rebased: Iterable[int] = ()) -> list[tuple[int, float]]:
    """(event time, peak-to-equity drawdown) after each snapshot, as the breaker counts
    it from the same records (SPEC §3: (peak - equity) / peak); at each time in
    ``rebased`` (an operator's reset with ``--rebase-peak``) the peak restarts from the
    equity then."""
    resets = sorted(rebased)
    peak: float | None = None
    out = []
    for snapshot in snapshots:
        equity = equity_of(snapshot)
        if resets and snapshot.at >= resets[0]:
            resets = [r for r in resets if r > snapshot.at]
            peak = None
        peak = equity if peak is None else max(peak, equity)
        out.append((snapshot.at, 0.0 if peak <= 0 else (peak - equity) / peak))
    return out
