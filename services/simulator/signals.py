"""Trading intents for the simulator: a seeded stream of ``trade.signal`` drafts.

One signal per account at each signal tick: a symbol, an action (BUY and SELL each 40 %,
CLOSE 20 %) and a confidence drawn uniformly from a range (by default [0.40, 0.95], so
some fall below a strategy's minimum). The same seed gives the same signals; ids derive
from the run id, the tick and the account, so a re-published tick repeats its ids (and
the executor makes no second order) while another run never collides.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas.enums import SignalAction
from schemas.ids import derived_id
from services.simulator.exceptions import SimulatorConfigError

_ACTIONS = (SignalAction.BUY, SignalAction.SELL, SignalAction.CLOSE)
_WEIGHTS = (0.4, 0.4, 0.2)


@dataclass(frozen=True)
class SignalDraft:
    signal_id: str
    account_id: str
    symbol: str
    action: SignalAction
    confidence: float
    model_name: str
    model_version: str


class SignalSource(Protocol):
    """What the simulator asks for the signals of a tick: the seeded
    :class:`SignalGenerator`, or a script (``hfos demo`` drives its scenarios with one)."""

    def at(self, tick: int) -> list[SignalDraft]: ...


@dataclass(frozen=True)
class SignalModel:
    """Who the signals claim to come from, and how confident they are."""

    name: str = "sim-model"
    version: str = "1"
    min_confidence: float = 0.40
    max_confidence: float = 0.95


class SignalGenerator:
    def __init__(
        self,
        accounts: Sequence[str],
        symbols: Sequence[str],
        seed: int,
        run_id: str,
        model: SignalModel | None = None,
    ) -> None:
        self._model = model or SignalModel()
        low, high = self._model.min_confidence, self._model.max_confidence
        if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low <= high <= 1.0):
            raise SimulatorConfigError("confidence range", (low, high), "0 <= min <= max <= 1")
        if not symbols:
            raise SimulatorConfigError("symbols", "", "at least one symbol")
        self._accounts = tuple(accounts)
        self._symbols = tuple(symbols)
        self._run_id = run_id
        self._rng = random.Random(f"signals-{seed}")  # noqa: S311 - reproducible, not a secret

    def at(self, tick: int) -> list[SignalDraft]:
        """The signals of ``tick``: one per account."""
        return [self._draft(tick, account) for account in self._accounts]

    def _draft(self, tick: int, account: str) -> SignalDraft:
        model = self._model
        return SignalDraft(
            signal_id=derived_id("simulator.signal", self._run_id, str(tick), account),
            account_id=account,
            symbol=self._rng.choice(self._symbols),
            action=self._rng.choices(_ACTIONS, _WEIGHTS)[0],
            confidence=round(self._rng.uniform(model.min_confidence, model.max_confidence), 3),
            model_name=model.name,
            model_version=model.version,
        )
