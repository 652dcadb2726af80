"""The market simulator on Kafka: every ``interval`` seconds one ``market.price`` per symbol
from the random walk and, every ``signal_every`` ticks, one ``trade.signal`` per account.

Price and signal ids derive from the run id and the tick, so a tick published twice (a
retried send) repeats its ids. Each tick is flushed before the next one is due: a price is
on the broker within the tick it belongs to. Ticks are paced from the start time, not
from the previous send, so a slow send does not make the feed drift.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from schemas.catalogue import MARKET_PRICE, TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.ids import derived_id
from services.bus.producer import EventProducer
from services.simulator.exceptions import SimulatorConfigError
from services.simulator.signals import SignalDraft, SignalSource
from services.simulator.walk import RandomWalk

LOG = logging.getLogger("hfos.simulator")
PRODUCER = "hfos-simulator"


@dataclass(frozen=True)
class Pace:
    """``interval`` seconds between ticks; ``ticks`` to publish (None: until stopped);
    a signal tick every ``signal_every`` ticks (0: no signals)."""

    interval: float = 0.5
    ticks: int | None = None
    signal_every: int = 4

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval) and self.interval >= 0):
            raise SimulatorConfigError("interval", self.interval, "a finite number of seconds >= 0")
        if self.ticks is not None and self.ticks < 1:
            raise SimulatorConfigError("ticks", self.ticks, "a whole number >= 1")
        if self.signal_every < 0:
            raise SimulatorConfigError("signal_every", self.signal_every, "a whole number >= 0")


class MarketSimulator:
    def __init__(
        self,
        producer: EventProducer,
        names: TopicNames,
        walk: RandomWalk,
        signals: SignalSource,
        run_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._producer, self._walk, self._signals = producer, walk, signals
        self._run_id, self._clock = run_id, clock
        self._prices = contract(MARKET_PRICE, names)
        self._trade_signals = contract(TRADE_SIGNAL, names)

    def tick(self, signal_every: int) -> int:
        """Publish the next tick (and its signals when due); returns the tick number."""
        prices = self._walk.step()
        tick, now = self._walk.tick, int(self._clock() * 1000)
        for symbol, price in prices.items():
            event_id = derived_id("simulator.price", self._run_id, str(tick), symbol)
            record = {
                "envelope": envelope(PRODUCER, now, event_id=event_id),
                "symbol": symbol,
                "price": price,
            }
            self._producer.send(self._prices, symbol, record)
        if signal_every and tick % signal_every == 0:
            for draft in self._signals.at(tick):
                self._producer.send(self._trade_signals, draft.account_id, _signal(draft, now))
        if self._producer.flush(30):
            LOG.warning("tick %d not acknowledged within 30 s; still retrying", tick)
        return tick

    def run(self, pace: Pace, stop: threading.Event) -> int:
        """Publish ticks at ``pace`` until ``pace.ticks`` or ``stop``; returns how many."""
        started = time.monotonic()
        published = 0
        while not stop.is_set() and (pace.ticks is None or published < pace.ticks):
            published = self.tick(pace.signal_every)
            due = started + published * pace.interval
            stop.wait(max(0.0, due - time.monotonic()))
        return published


def _signal(draft: SignalDraft, now: int) -> dict[str, object]:
    return {
        "envelope": envelope(PRODUCER, now, event_id=draft.signal_id),
        "signal_id": draft.signal_id,
        "account_id": draft.account_id,
        "symbol": draft.symbol,
        "action": draft.action.value,
        "confidence": draft.confidence,
        "model_name": draft.model_name,
        "model_version": draft.model_version,
        "strategy": None,
        "quantity": None,
        "notional": None,
    }
