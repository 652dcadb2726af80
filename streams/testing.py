"""Test support for the pure cores: a controllable clock, a scripted random source and
builders with sensible defaults, so a test states only what its behaviour depends on.

Times are epoch milliseconds (UTC) throughout, as in the cores.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field, replace

from schemas.enums import EssCommandKind, EssState, ProfileName, SignalAction, StrategyName
from streams.drawdown import AccountUpdate, Reset, Thresholds
from streams.ess import EssCommand, Scope, ScopeState
from streams.policy import PolicyVersion, apply_change
from streams.strategy import DecisionContext, Signal

START = 1_767_225_600_000
"""2026-01-01T00:00:00Z, a UTC midnight, so day-rollover tests count days from here."""

_ids = itertools.count(1)


def next_id(prefix: str = "evt") -> str:
    """A fresh id, unique within the test process (``evt-1``, ``evt-2``, ...)."""
    return f"{prefix}-{next(_ids)}"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: int = START) -> None:
        self._now = start

    def now(self) -> int:
        return self._now

    def advance(self, seconds: float = 0.0, *, ms: int = 0) -> int:
        """Move forward by ``seconds`` plus ``ms``; returns the new time."""
        if seconds < 0 or ms < 0:
            raise ValueError("a clock does not go backwards")
        self._now += round(seconds * 1000) + ms
        return self._now


class ScriptedRandom:
    """A random source returning ``values`` in turn, cycling (``random() -> float``)."""

    def __init__(self, values: Iterable[float] = (0.0,)) -> None:
        self._values = itertools.cycle(list(values))

    def random(self) -> float:
        return next(self._values)


def policy(
    profile: ProfileName = ProfileName.NORMAL,
    changes: Mapping[str, object] | None = None,
    *,
    version: int = 1,
    now: int = START,
) -> PolicyVersion:
    """A valid policy version: the profile's SPEC default plus ``changes``."""
    first = apply_change(
        None, None, changes or {}, author="test", reason="fixture", now=now, profile=profile
    )
    return replace(first, version=version)


def thresholds(
    profile: ProfileName = ProfileName.NORMAL, changes: Mapping[str, object] | None = None
) -> Thresholds:
    return Thresholds.of(policy(profile, changes))


@dataclass
class AccountEvents:
    """A venue account that reports each change as an ``account.updated`` snapshot.

    Each builder changes the account the way a venue would and returns the snapshot
    after it (next sequence, the clock's time, a fresh id): ``balance`` sets the wallet
    (and the venue's equity, when given), ``position`` opens or marks a position,
    ``close`` removes one and moves its realized PnL into the wallet.
    """

    account_id: str = "acc-1"
    clock: FakeClock = field(default_factory=FakeClock)
    wallet: float = 0.0
    positions: dict[str, float] = field(default_factory=dict)
    sequence: int = 0
    resets: int = 0

    def balance(self, wallet: float, equity: float | None = None) -> AccountUpdate:
        self.wallet = wallet
        return self._snapshot(equity)

    def position(self, symbol: str, unrealized_pnl: float) -> AccountUpdate:
        self.positions[symbol] = unrealized_pnl
        return self._snapshot()

    def close(self, symbol: str, realized_pnl: float) -> AccountUpdate:
        self.positions.pop(symbol, None)
        self.wallet += realized_pnl
        return self._snapshot()

    def reset(self, episode: int, *, rebase_peak: bool = False) -> Reset:
        """An operator's reset, at the next offset of the reset topic."""
        self.resets += 1
        return Reset(
            next_id(),
            self.clock.now(),
            self.account_id,
            episode,
            by="operator",
            reason="test reset",
            rebase_peak=rebase_peak,
            offset=self.resets,
        )

    def _snapshot(self, equity: float | None = None) -> AccountUpdate:
        self.sequence += 1
        return AccountUpdate(
            next_id(),
            self.clock.now(),
            self.account_id,
            self.sequence,
            self.wallet,
            equity,
            dict(self.positions),
        )


def command(
    kind: EssCommandKind,
    scope: str = "global",
    *,
    expected_version: int | None = None,
    by: str = "operator",
    reason: str = "test",
    command_id: str | None = None,
) -> EssCommand:
    """An ``ess.command`` with a fresh id unless ``command_id`` is given."""
    return EssCommand(
        command_id=command_id or next_id("cmd"),
        scope=Scope.parse(scope),
        kind=kind,
        by=by,
        reason=reason,
        expected_version=expected_version,
    )


def scope_state(
    scope: str = "global", state: EssState = EssState.ARMED, version: int = 0
) -> ScopeState:
    return ScopeState(Scope.parse(scope), state, version)


def signal(
    action: SignalAction = SignalAction.BUY,
    *,
    confidence: float = 0.9,
    symbol: str = "BTCUSDT",
    account_id: str = "acc-1",
    quantity: float | None = None,
    notional: float | None = None,
    model_version: str = "1",
) -> Signal:
    return Signal(
        signal_id=next_id("sig"),
        account_id=account_id,
        symbol=symbol,
        action=action,
        confidence=confidence,
        model_name="model",
        model_version=model_version,
        quantity=quantity,
        notional=notional,
    )


def context(  # noqa: PLR0913 - the context fields a test most often varies
    *,
    ess: EssState = EssState.ARMED,
    policy_version: PolicyVersion | None = None,
    strategy: StrategyName = StrategyName.MODERATE,
    positions: Mapping[str, float] | None = None,
    equity: float | None = 10_000.0,
    price: float | None = 100.0,
    known_models: Mapping[str, Set[str]] | None = None,
    now: int = START,
) -> DecisionContext:
    """A context in which a BUY of BTCUSDT at confidence 0.9 is accepted: ready, fresh
    heartbeat, the normal profile, ARMED, 10 000 of equity, a price of 100."""
    return DecisionContext(
        now=now,
        ready=True,
        heartbeat_age_ms=100,
        heartbeat_bound_ms=5_000,
        policy=policy_version or policy(),
        strategy=strategy,
        ess=ScopeState(Scope.parse("global"), ess, 1),
        equity=equity,
        price=price,
        positions=positions or {},
        known_models=known_models if known_models is not None else {"model": {"1"}},
    )
