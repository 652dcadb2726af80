"""What the executor knows, folded from decoded records: no Kafka here.

``ControlState`` is the control plane as one process sees it (policy, ESS, strategies,
promoted models, prices, the last control-plane heartbeat); ``AccountBook`` is the
account side (positions, equity, the executor's own past decisions, for cooldowns and for
never deciding one signal twice). ``context_for`` turns both into the
:class:`~streams.strategy.DecisionContext` the pure ``decide`` reads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.enums import EssState, EssTrigger, OrderSide, PositionSide
from streams.ess import Scope, ScopeState, scopes_for_order
from streams.ess.state import effective_state
from streams.policy.owner import PolicyState
from streams.policy.records import Activation, activation_from_record, version_from_record
from streams.policy.version import PolicyVersion
from streams.strategy import DecisionContext, Signal
from streams.strategy.switches import StrategyBook, switch_from_record

DECIDED_MEMORY = 200_000
"""Signal ids remembered as decided. A duplicate of a signal (the same id published twice)
older than this many decisions is decided again, under the same order id."""

IN_FLIGHT_TTL_MS = 60_000
"""How long an accepted order that opens or increases a position counts as exposure before
the venue's effect of it is seen. The paper exchange answers in milliseconds; an order with
no answer at all (a venue that never saw the account) stops counting after this long."""

ANSWERED_MEMORY = 10_000
"""Order ids whose answer (a fill's position record, or an ``order.failed``) was seen
before the order itself (records of several topics replayed in any order after a
restart), so that the order is not counted as still in flight."""


@dataclass
class ControlState:
    """The control plane, folded. Every ``apply_*`` keeps the newest version it has seen."""

    versions: dict[str, PolicyVersion] = field(default_factory=dict)
    activations: dict[str, Activation] = field(default_factory=dict)
    ess: dict[Scope, ScopeState] = field(default_factory=dict)
    strategies: StrategyBook = field(default_factory=StrategyBook)
    models: dict[str, frozenset[str]] = field(default_factory=dict)
    serving: dict[str, str] = field(default_factory=dict)
    """Model -> the version this executor loaded last."""
    prices: dict[str, float] = field(default_factory=dict)
    heartbeat_at: int | None = None
    """When (local clock, epoch ms) the last control-plane heartbeat was received: the
    sender's clock is not trusted to measure staleness here."""

    def apply_policy_updated(self, record: Mapping[str, Any]) -> None:
        version = version_from_record(record)
        held = self.versions.get(version.profile.value)
        if held is None or held.version < version.version:
            self.versions[version.profile.value] = version

    def apply_policy_activated(self, record: Mapping[str, Any]) -> None:
        activation = activation_from_record(record)
        held = self.activations.get(activation.scope)
        if held is None or held.version < activation.version:
            self.activations[activation.scope] = activation

    def apply_ess_state(self, record: Mapping[str, Any]) -> None:
        state = scope_state_from_record(record)
        held = self.ess.get(state.scope)
        if held is None or held.version < state.version:
            self.ess[state.scope] = state

    def apply_strategy_switched(self, record: Mapping[str, Any]) -> None:
        self.strategies.apply(switch_from_record(record))

    def apply_model_loaded(self, model: str, version: str) -> None:
        """This executor loaded ``version`` of ``model`` (verified artifact, SPEC §6): it is
        known, and so is the version it loaded before, while the signal sources move over
        (a signal in flight from the previous version is not an unknown model). A version
        this executor never loaded is never known."""
        before = self.serving.get(model)
        self.serving[model] = version
        known = {version} if before is None or before == version else {version, before}
        self.models[model] = frozenset(known)

    def apply_price(self, record: Mapping[str, Any]) -> None:
        self.prices[str(record["symbol"])] = float(record["price"])

    def apply_heartbeat(self, received_at: int) -> None:
        self.heartbeat_at = received_at

    def policy(self) -> PolicyVersion | None:
        return PolicyState(self.versions, self.activations).active()


def scope_state_from_record(record: Mapping[str, Any]) -> ScopeState:
    """An ``ess.state`` record as the ESS core's :class:`ScopeState`."""
    trigger = record.get("trigger")
    return ScopeState(
        scope=Scope.parse(str(record["scope"])),
        state=EssState(record["state"]),
        version=int(record["version"]),
        since=int(record["since"]),
        trigger=EssTrigger(trigger) if trigger else None,
        cooldown_until=record.get("cooldown_until"),
    )


@dataclass
class Position:
    quantity: float
    """Signed: short < 0."""
    mark: float


@dataclass(frozen=True)
class InFlight:
    """An accepted order that opens or increases a position, its effect not yet seen."""

    symbol: str
    notional: float
    quantity: float
    """Signed: a SELL < 0."""
    at: int


@dataclass
class AccountBook:
    """Positions, equity and past decisions of the accounts this executor decides for.

    Positions and equity are what the venue's last ``account.updated`` of each account
    says (the highest sequence applied): one ordered topic, so no interleaving of the
    per-kind topics can leave a closed position open here (SPEC §1, delivery order).

    Orders in flight: an accepted order that opens or increases a position counts toward
    the account's open positions and gross notional from the moment it is decided until the
    venue answers — the FILL ``account.updated`` naming it, or an ``order.failed`` naming
    it — or ``IN_FLIGHT_TTL_MS`` passes. Without this a burst of signals for
    new symbols, decided before the first fill, would pass MAX_OPEN_POSITIONS and
    LEVERAGE_CAP together. Reduce-only orders never count: a reduction not yet filled frees
    no room. A CLOSE decided before an open's fill is seen closes what the open will hold
    (the venue executes an account's orders in order): a strategy that closes the moment
    its fill reaches it must not be refused NO_POSITION_TO_CLOSE because the executor read
    that fill a few milliseconds later.
    """

    positions: dict[str, dict[str, Position]] = field(default_factory=dict)
    equity: dict[str, float] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    """Account -> the venue sequence of the snapshot applied last."""
    last_order_at: dict[tuple[str, str], int] = field(default_factory=dict)
    decided: OrderedDict[str, None] = field(default_factory=OrderedDict)
    in_flight: dict[str, dict[str, InFlight]] = field(default_factory=dict)
    """Per account, per order id."""
    answered: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def apply_account_update(self, record: Mapping[str, Any]) -> None:
        """The venue's whole account after one change (``account.updated``); one at or
        below the sequence already applied is a redelivery or a stale resend: ignored."""
        account = str(record["account_id"])
        sequence = int(record["sequence"])
        if sequence <= self.sequences.get(account, 0):
            return
        self.sequences[account] = sequence
        held: dict[str, Position] = {}
        unrealized = 0.0
        for position in record["positions"]:
            quantity = float(position["quantity"])
            signed = -quantity if position["side"] == PositionSide.SHORT else quantity
            held[str(position["symbol"])] = Position(signed, float(position["mark_price"]))
            unrealized += float(position["unrealized_pnl"])
        self.positions[account] = held
        equity = record.get("equity")
        wallet = float(record["wallet_balance"])
        self.equity[account] = wallet + unrealized if equity is None else float(equity)
        if record.get("order_id"):
            self._answered(account, str(record["order_id"]))

    def apply_order_failed(self, record: Mapping[str, Any]) -> None:
        """The venue could not execute the order: it is no longer in flight."""
        self._answered(str(record["account_id"]), str(record["order_id"]))

    def _answered(self, account_id: str, order_id: str | None) -> None:
        orders = self.in_flight.get(account_id, {})
        if order_id is None or orders.pop(order_id, None) is not None:
            return
        self.answered[order_id] = None  # the answer came first (a replay); so may its order
        while len(self.answered) > ANSWERED_MEMORY:
            self.answered.popitem(last=False)

    def apply_decision(self, record: Mapping[str, Any], accepted: bool) -> None:
        """One of this executor's own ``order.requested`` / ``order.rejected`` records."""
        self.remember(str(record["signal_id"]))
        if accepted:
            key = (str(record["account_id"]), str(record["symbol"]))
            at = int(record["envelope"]["event_time"])
            self.last_order_at[key] = max(at, self.last_order_at.get(key, at))
            order_id = str(record["order_id"])
            if not record["reduce_only"] and order_id not in self.answered:
                quantity = float(record["quantity"])
                signed = -quantity if record["side"] == OrderSide.SELL else quantity
                order = InFlight(key[1], float(record["notional"]), signed, at)
                self.in_flight.setdefault(key[0], {})[order_id] = order

    def in_flight_for(self, account_id: str, now: int) -> dict[str, float]:
        """Notional in flight per symbol of ``account_id`` (its orders older than the TTL
        at ``now`` are dropped first)."""
        pending: dict[str, float] = {}
        for order in self._live(account_id, now):
            pending[order.symbol] = pending.get(order.symbol, 0.0) + order.notional
        return pending

    def in_flight_quantities(self, account_id: str, now: int) -> dict[str, float]:
        """Signed quantity in flight per symbol of ``account_id``: what its positions will
        be, on top of the last snapshot, once the venue has executed them."""
        pending: dict[str, float] = {}
        for order in self._live(account_id, now):
            pending[order.symbol] = pending.get(order.symbol, 0.0) + order.quantity
        return pending

    def _live(self, account_id: str, now: int) -> list[InFlight]:
        orders = self.in_flight.get(account_id)
        if not orders:
            return []
        for order_id in [k for k, v in orders.items() if now - v.at > IN_FLIGHT_TTL_MS]:
            del orders[order_id]
        return list(orders.values())

    def in_flight_count(self) -> int:
        return sum(len(orders) for orders in self.in_flight.values())

    def remember(self, signal_id: str) -> None:
        self.decided[signal_id] = None
        self.decided.move_to_end(signal_id)
        while len(self.decided) > DECIDED_MEMORY:
            self.decided.popitem(last=False)

    def seen(self, signal_id: str) -> bool:
        return signal_id in self.decided

    def signed_positions(self, account_id: str) -> dict[str, float]:
        return {s: p.quantity for s, p in self.positions.get(account_id, {}).items()}

    def open_notional(self, account_id: str) -> float:
        return sum(abs(p.quantity) * p.mark for p in self.positions.get(account_id, {}).values())


@dataclass(frozen=True)
class Readiness:
    """Whether the control and account state were read to the end for this decision."""

    ready: bool
    heartbeat_bound_ms: int


def context_for(
    signal: Signal,
    control: ControlState,
    accounts: AccountBook,
    readiness: Readiness,
    now: int,
) -> DecisionContext:
    """The decision context of ``signal`` at ``now``.

    The strategy is the one switched on for the account (or globally): a strategy named
    in the signal is the model's wish and never overrides an operator's switch.
    """
    strategy = control.strategies.for_account(signal.account_id)
    scopes = scopes_for_order(signal.account_id, strategy, signal.symbol)
    heartbeat_age = None if control.heartbeat_at is None else max(0, now - control.heartbeat_at)
    return DecisionContext(
        now=now,
        ready=readiness.ready,
        heartbeat_age_ms=heartbeat_age,
        heartbeat_bound_ms=readiness.heartbeat_bound_ms,
        policy=control.policy(),
        strategy=strategy,
        ess=effective_state(control.ess, scopes),
        equity=accounts.equity.get(signal.account_id),
        price=control.prices.get(signal.symbol),
        positions=accounts.signed_positions(signal.account_id),
        last_order_at=accounts.last_order_at,
        known_models=control.models,
        open_notional=accounts.open_notional(signal.account_id),
        in_flight=accounts.in_flight_for(signal.account_id, now),
        in_flight_quantity=accounts.in_flight_quantities(signal.account_id, now),
    )
