"""The market simulator as a scenario drives it: the seeded random walk and the
simulator's publisher (``services.simulator``), ticking in a thread, with the signals and
gaps a script asks for sent at the next tick.

:class:`ScriptedSignals` is the simulator's signal source: the signals queued for a tick,
plus — while a stream is on — one seeded signal per streaming account. Ids derive from
the run id, the tick and the signal's place in it, so every id is new to the desk.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.catalogue import TopicNames
from schemas.enums import SignalAction
from schemas.ids import derived_id
from services.bus.producer import EventProducer
from services.simulator.service import MarketSimulator
from services.simulator.signals import SignalDraft
from services.simulator.walk import Gap, RandomWalk, start_prices

MODEL = "sim-model"
MODEL_VERSION = "1"


@dataclass(frozen=True)
class Stream:
    accounts: tuple[str, ...]
    low: float
    high: float
    actions: tuple[SignalAction, ...]
    symbols: tuple[str, ...] = ()
    """The symbols the stream draws from; empty: every symbol of the desk."""


class ScriptedSignals:
    """A :class:`~services.simulator.signals.SignalSource` the script fills."""

    def __init__(self, run_id: str, symbols: Sequence[str], seed: int) -> None:
        self._run_id, self._symbols = run_id, tuple(symbols)
        self._rng = random.Random(f"demo-signals-{seed}")  # noqa: S311 - reproducible, not a secret
        self._queued: list[SignalDraft] = []
        self._stream: Stream | None = None
        self.model_version = MODEL_VERSION
        """The version of ``sim-model`` the signals name from now on."""
        self.sent: list[str] = []
        """Every signal id handed to the simulator, in order."""

    def queue(self, tick: int, account: str, symbol: str, action: str, confidence: float) -> str:
        draft = self._draft(
            tick, len(self._queued), account, symbol, SignalAction(action), confidence
        )
        self._queued.append(draft)
        return draft.signal_id

    def stream(self, stream: Stream | None) -> None:
        self._stream = stream

    def at(self, tick: int) -> list[SignalDraft]:
        drafts, self._queued = self._queued, []
        if self._stream is not None:
            drafts += [self._streamed(tick, account) for account in self._stream.accounts]
        self.sent.extend(draft.signal_id for draft in drafts)
        return drafts

    def _streamed(self, tick: int, account: str) -> SignalDraft:
        stream = self._stream
        assert stream is not None  # noqa: S101 - called only while a stream is on
        confidence = round(self._rng.uniform(stream.low, stream.high), 3)
        symbol = self._rng.choice(stream.symbols or self._symbols)
        action = self._rng.choice(stream.actions)
        return self._draft(tick, -1, account, symbol, action, confidence)

    def _draft(
        self,
        tick: int,
        place: int,
        account: str,
        symbol: str,
        action: SignalAction,
        confidence: float,
    ) -> SignalDraft:
        signal_id = derived_id("demo.signal", self._run_id, str(tick), str(place), account, symbol)
        return SignalDraft(
            signal_id, account, symbol, action, confidence, MODEL, self.model_version
        )


class Feed:
    """Ticks the simulator every ``interval`` seconds in a daemon thread."""

    def __init__(
        self,
        producer: EventProducer,
        names: TopicNames,
        symbols: Sequence[str],
        volatility: float,
        seed: int,
        interval: float,
        run_id: str,
    ) -> None:
        self._walk = RandomWalk(start_prices(symbols, {}), volatility, seed)
        self.signals = ScriptedSignals(run_id, symbols, seed)
        self._simulator = MarketSimulator(producer, names, self._walk, self.signals, run_id)
        self._interval = interval
        self._lock = threading.Lock()
        self._ticked = threading.Condition()
        self.tick = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        published = 0
        while not self._stop.is_set():
            with self._lock:
                tick = self._simulator.tick(signal_every=1)
            published += 1
            with self._ticked:
                self.tick = tick
                self._ticked.notify_all()
            due = started + published * self._interval
            self._stop.wait(max(0.0, due - time.monotonic()))

    def signal(self, account: str, symbol: str, action: str, confidence: float) -> str:
        with self._lock:
            return self.signals.queue(self._walk.tick + 1, account, symbol, action, confidence)

    def stream(self, stream: Stream | None) -> None:
        with self._lock:
            self.signals.stream(stream)

    def sent(self) -> list[str]:
        with self._lock:
            return list(self.signals.sent)

    def model_version(self, version: str) -> None:
        with self._lock:
            self.signals.model_version = version

    def gap(self, symbol: str, change: float) -> None:
        with self._lock:
            self._walk.add_gap(Gap(self._walk.tick + 1, symbol, change))

    def wait_ticks(self, count: int, timeout: float) -> bool:
        with self._ticked:
            target = self.tick + count
            return self._ticked.wait_for(lambda: self.tick >= target, timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(60)
