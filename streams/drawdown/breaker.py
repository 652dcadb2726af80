"""The drawdown circuit breaker as one pure step: ``observe(state, event) -> (state, effects)``.

Rules (SPEC §3):

- equity = the venue's equity when ``balance.updated`` gives one, else wallet + Σ unrealized
  PnL; unknown until the first wallet balance arrives. A close moves its realized PnL into
  the wallet at once, so equity does not jump by the position's PnL while the venue's
  ``balance.updated`` is on its way (that update then sets the wallet absolutely); a close
  stamped no later than the balance that set the wallet is already in it and is not added
  again (the two topics are not ordered against each other).
- An *observation* is a new event after which equity is known and a policy is active.
  A rule breaches when its value exceeds its limit on ``breach_confirmations`` consecutive
  observations; the first breach latches the episode and emits one trigger. Recovery never
  un-latches; only a :class:`Reset` naming the latched episode ends it.
- A rule's warning is emitted once per episode, at value >= warn_fraction x limit.
- The UTC day rolls over at the first event of a new day: day-start equity becomes the
  equity carried over from before that event (so a loss on that event counts).
- A duplicate event id (one of the last :data:`SEEN_LIMIT`) changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from schemas.enums import BreachRule
from streams.drawdown.effects import (
    BreachTriggered,
    Effect,
    EpisodeReset,
    RiskWarning,
    breach_id,
    warning_id,
)
from streams.drawdown.events import (
    BalanceUpdated,
    DrawdownEvent,
    PositionClosed,
    PositionUpdated,
    Reset,
    check_event,
)
from streams.drawdown.exceptions import AccountMismatchError, DrawdownError
from streams.drawdown.state import (
    RULES,
    AccountState,
    Thresholds,
    clamp_fraction,
    daily_loss,
    drawdown,
    no_breaches,
)

SEEN_LIMIT = 256
"""Event ids remembered per account. Redelivery replays what came after the last commit
(Faust commits every 0.5 s), i.e. a few events per account, so 256 is ample; at ~40
bytes an id it keeps each account's changelog record near 10 kB."""

DAY_MS = 86_400_000


def observe(
    state: AccountState, event: DrawdownEvent, thresholds: Thresholds | None, now: int
) -> tuple[AccountState, list[Effect]]:
    """Apply one event. ``thresholds`` is the active policy's (None: no policy, so the
    state, peaks included, is kept up to date but no rule is judged); ``now`` (epoch ms)
    caps a producer clock that runs ahead when recording the last equity update."""
    check_event(event)
    if event.account_id != state.account_id:
        raise AccountMismatchError(state.account_id, event.account_id, event.event_id)
    if event.event_id in state.seen:
        return state, []
    state = replace(state, seen=(*state.seen, event.event_id)[-SEEN_LIMIT:])
    if isinstance(event, Reset):
        return _reset(state, event)
    state = _mark(_roll_day(state, event.event_time), event, now)
    if state.equity is None or thresholds is None:
        return state, []
    return _judge(state, thresholds, event.event_id)


def check_stale(state: AccountState, now: int, stale_after_seconds: int) -> bool:
    """True when the account has open positions and no equity data for the bound."""
    if not state.positions:
        return False
    if state.last_equity_at is None:
        return True
    return now - state.last_equity_at >= stale_after_seconds * 1000


def _roll_day(state: AccountState, event_time: int) -> AccountState:
    day = event_time // DAY_MS
    if state.day is not None and day <= state.day:
        return state  # same day, or a late event from a day already closed
    return replace(state, day=day, day_start_equity=state.equity)


def _mark(
    state: AccountState, event: PositionUpdated | PositionClosed | BalanceUpdated, now: int
) -> AccountState:
    positions = dict(state.positions)
    wallet, wallet_as_of = state.wallet_balance, state.wallet_as_of
    given: float | None = None
    if isinstance(event, PositionUpdated):
        positions[event.symbol] = event.unrealized_pnl
    elif isinstance(event, PositionClosed):
        positions.pop(event.symbol, None)
        already_in_wallet = wallet_as_of is not None and event.event_time <= wallet_as_of
        if wallet is not None and not already_in_wallet:
            wallet += event.realized_pnl
    else:
        wallet, given = event.wallet_balance, event.equity
        wallet_as_of = max(event.event_time, wallet_as_of or event.event_time)
    equity = _equity(wallet, positions, given)
    return replace(
        state,
        positions=positions,
        wallet_balance=wallet,
        wallet_as_of=wallet_as_of,
        equity=equity,
        peak_equity=_max(state.peak_equity, equity),
        day_start_equity=state.day_start_equity if state.day_start_equity is not None else equity,
        last_equity_at=_max_int(state.last_equity_at, min(event.event_time, now)),
    )


def _judge(
    state: AccountState, thresholds: Thresholds, event_id: str
) -> tuple[AccountState, list[Effect]]:
    values = {BreachRule.MAX_DRAWDOWN: drawdown(state), BreachRule.DAILY_LOSS: daily_loss(state)}
    counts = {
        rule: state.breaches[rule] + 1 if values[rule] > thresholds.limit(rule) else 0
        for rule in RULES
    }
    warn = [
        rule
        for rule in RULES
        if rule not in state.warned
        and values[rule] >= thresholds.warn_fraction * thresholds.limit(rule)
    ]
    effects: list[Effect] = [
        _warning(state, rule, values[rule], thresholds, event_id) for rule in warn
    ]
    state = replace(state, breaches=counts, warned=state.warned | frozenset(warn))
    tripped = [rule for rule in RULES if counts[rule] >= thresholds.breach_confirmations]
    if state.latched or not tripped:
        return state, effects
    effects.append(_trigger(state, tripped[0], thresholds, event_id))
    return replace(state, latched=True), effects


def _reset(state: AccountState, event: Reset) -> tuple[AccountState, list[Effect]]:
    if not state.latched or event.episode != state.episode:
        return state, []  # a reset of another (or no) episode is ignored, as the schema says
    rebased = state.equity if event.rebase_peak else None
    ended = EpisodeReset(
        state.account_id, state.episode, event.by, event.reason, rebased, event.event_id
    )
    return (
        replace(
            state,
            episode=state.episode + 1,
            latched=False,
            breaches=no_breaches(),
            warned=frozenset(),
            peak_equity=state.peak_equity if rebased is None else rebased,
        ),
        [ended],
    )


def _warning(
    state: AccountState, rule: BreachRule, value: float, thresholds: Thresholds, event_id: str
) -> RiskWarning:
    return RiskWarning(
        warning_id=warning_id(state.account_id, rule, state.episode),
        account_id=state.account_id,
        rule=rule,
        episode=state.episode,
        value=clamp_fraction(value),
        limit=thresholds.limit(rule),
        warn_fraction=thresholds.warn_fraction,
        cause_event_id=event_id,
        policy_profile=thresholds.profile,
        policy_version=thresholds.version,
        policy_hash=thresholds.hash,
    )


def _trigger(
    state: AccountState, rule: BreachRule, thresholds: Thresholds, event_id: str
) -> BreachTriggered:
    return BreachTriggered(
        breach_id=breach_id(state.account_id, rule, state.episode),
        account_id=state.account_id,
        rule=rule,
        episode=state.episode,
        drawdown=clamp_fraction(drawdown(state)),
        daily_loss=clamp_fraction(daily_loss(state)),
        threshold=thresholds.limit(rule),
        equity=_known(state.equity),
        peak_equity=_known(state.peak_equity),
        day_start_equity=_known(state.day_start_equity),
        tipping_event_id=event_id,
        policy_profile=thresholds.profile,
        policy_version=thresholds.version,
        policy_hash=thresholds.hash,
    )


def _equity(wallet: float | None, positions: dict[str, float], given: float | None) -> float | None:
    if given is not None:
        return given
    return None if wallet is None else wallet + sum(positions.values())


def _known(value: float | None) -> float:
    # _judge only runs once equity is known, and from then on peak and day start are too.
    if value is None:
        raise DrawdownError("breaker state has no equity at a breach; this is a bug")
    return value


def _max(current: float | None, candidate: float | None) -> float | None:
    if current is None:
        return candidate
    return current if candidate is None else max(current, candidate)


def _max_int(current: int | None, candidate: int) -> int:
    return candidate if current is None else max(current, candidate)
