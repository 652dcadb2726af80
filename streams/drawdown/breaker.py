"""The drawdown circuit breaker as one pure step: ``observe(state, event) -> (state, effects)``.

Rules (SPEC §3; the README's *Breaker rules* say the same for an independent check):

- The breaker judges an account by ``account.updated`` alone: the venue's whole account
  after each change, in the one order the venue made the changes (SPEC §1, delivery
  order). An update whose ``sequence`` is not above the last one applied is ignored — a
  redelivery, a replay after a crash, a stale resend — so any delivery of the topic
  gives the same verdicts, and no other topic's timing enters them.
- equity = the venue's equity when the update gives one, else its wallet plus the
  unrealized PnL of every position it lists; a closed position's realized PnL is in that
  wallet already. Equity is unknown until the first update.
- An *observation* is an applied update while a policy is active. A rule breaches when
  its value exceeds its limit on ``breach_confirmations`` consecutive observations; the
  first breach latches the episode and emits one trigger. Recovery never un-latches; only
  a :class:`Reset` naming the latched episode ends it. Each reset is read once, by its
  offset on the (account-keyed, ordered) reset topic: a replayed reset — even one that
  found its episode not yet tripped — never ends an episode.
- A rule's warning is emitted once per episode, at value >= warn_fraction x limit.
- The UTC day rolls over at the first update of a new day (by the venue's event time):
  day-start equity becomes the equity carried over from before that update, so a loss on
  that update counts. The first update of all sets day start and peak to its equity.
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
from streams.drawdown.events import AccountUpdate, DrawdownEvent, Reset, check_event
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

DAY_MS = 86_400_000


def observe(
    state: AccountState, event: DrawdownEvent, thresholds: Thresholds | None, now: int
) -> tuple[AccountState, list[Effect]]:
    """Apply one event. ``thresholds`` is the active policy's (None: no policy, so the
    state, peaks included, is kept up to date but no rule is judged); ``now`` (epoch ms)
    caps a venue clock that runs ahead when recording the last equity update."""
    check_event(event)
    if event.account_id != state.account_id:
        raise AccountMismatchError(state.account_id, event.account_id, event.event_id)
    if isinstance(event, Reset):
        return _reset(state, event)
    if event.sequence <= state.sequence:
        return state, []
    state = _mark(_roll_day(state, event.event_time), event, now)
    if thresholds is None:
        return state, []
    return _judge(state, thresholds, event.event_id)


def check_stale(state: AccountState, as_of: int, stale_after_seconds: int) -> bool:
    """True when the account has open positions and no update in the ``stale_after_seconds``
    before ``as_of`` — a moment up to which the caller has read all of the account's input
    (never the time of a worker that is behind: SPEC §3 staleness is the venue's silence,
    not the reader's lag)."""
    if not state.positions:
        return False
    if state.last_equity_at is None:
        return True
    return as_of - state.last_equity_at >= stale_after_seconds * 1000


def _roll_day(state: AccountState, event_time: int) -> AccountState:
    day = event_time // DAY_MS
    if state.day is not None and day <= state.day:
        return state  # same day, or a venue clock that stepped back: the day stays
    return replace(state, day=day, day_start_equity=state.equity)


def _mark(state: AccountState, update: AccountUpdate, now: int) -> AccountState:
    positions = dict(update.positions)
    equity = (
        update.equity
        if update.equity is not None
        else update.wallet_balance + sum(positions.values())
    )
    return replace(
        state,
        sequence=update.sequence,
        wallet_balance=update.wallet_balance,
        positions=positions,
        equity=equity,
        peak_equity=equity if state.peak_equity is None else max(state.peak_equity, equity),
        day_start_equity=equity if state.day_start_equity is None else state.day_start_equity,
        last_equity_at=_max_int(state.last_equity_at, min(update.event_time, now)),
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
    if event.offset <= state.reset_offset:
        return state, []  # read before: a redelivery
    state = replace(state, reset_offset=event.offset)
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


def _known(value: float | None) -> float:
    # _judge only runs once equity is known, and from then on peak and day start are too.
    if value is None:
        raise DrawdownError("breaker state has no equity at a breach; this is a bug")
    return value


def _max_int(current: int | None, candidate: int) -> int:
    return candidate if current is None else max(current, candidate)
