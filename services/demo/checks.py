"""Checks several scenarios make, each read from the events alone. Pure.

Each check records itself on the :class:`Judgement` — a line when it holds, a failure that
names the behaviour when it does not — and returns what the next check needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from schemas.catalogue import (
    CIRCUIT_BREAKER_TRIGGERED,
    POLICY_UPDATED,
    RISK_WARNING,
)
from schemas.enums import StrategyName
from services.demo.events import Decision, EventLog, equity_of
from services.demo.model import Event, Judgement, Latency, latency_of
from streams.policy.records import version_from_record
from streams.strategy.limits import EffectiveLimits, effective_limits
from streams.strategy.presets import PRESETS

_SLACK = 1e-6
"""Relative slack on money comparisons: a notional is quantity x price in floating point."""


def decided_once(j: Judgement, log: EventLog, signal_ids: Sequence[str]) -> dict[str, Decision]:
    """Every signal the simulator sent is on ``trade.signal`` and has exactly one decision
    (``order.requested`` or ``order.rejected``, read committed)."""
    on_topic = log.signals()
    missing = [s for s in signal_ids if s not in on_topic]
    j.check(
        not missing,
        f"all {len(signal_ids)} signals sent are on trade.signal",
        f"{len(missing)} of {len(signal_ids)} signals sent never reached trade.signal "
        f"(lost by the producer), e.g. {missing[:3]}",
    )
    per_signal = Counter(d.signal_id for d in log.decisions())
    undecided = [s for s in signal_ids if per_signal[s] == 0]
    twice = [s for s in signal_ids if per_signal[s] > 1]
    j.check(
        not undecided and not twice,
        f"each of the {len(signal_ids)} signals has exactly one decision",
        f"the executor decided {len(undecided)} signals never and {len(twice)} more than "
        f"once (exactly once per signal), e.g. {(undecided + twice)[:3]}",
    )
    return {d.signal_id: d for d in log.decisions()}


def filled_once(j: Judgement, log: EventLog, decisions: Iterable[Decision]) -> None:
    """Every accepted order was executed by the venue exactly once: one FILL on
    ``account.updated`` (or one ``order.failed``), never two."""
    fills, failed = log.fills(), log.failed_orders()
    accepted = [d for d in decisions if d.accepted]
    answers = {d.event["order_id"]: len(fills.get(d.event["order_id"], ())) for d in accepted}
    for order_id in answers:
        answers[order_id] += len(failed.get(order_id, ()))
    wrong = {order: n for order, n in answers.items() if n != 1}
    j.check(
        not wrong,
        f"each of the {len(accepted)} accepted orders was filled exactly once (account.updated)",
        f"the paper exchange answered {len(wrong)} orders other than once "
        f"(order id: answers): {dict(list(wrong.items())[:3])}",
    )


def limits_of(log: EventLog, decision: Decision) -> EffectiveLimits | None:
    """The limits the decision says it was held to: its strategy's preset and the policy
    version it names (read from ``policy.updated``)."""
    wanted = decision.event.get("policy_hash")
    strategy = decision.event.get("strategy")
    if wanted is None or strategy is None:
        return None
    for event in log.of(POLICY_UPDATED.name):
        if event["hash"] == wanted:
            values = version_from_record(event.value).values
            return effective_limits(PRESETS[StrategyName(strategy)], values)
    return None


EQUITY_WINDOW_MS = 2_000
"""The executor sizes an order at the equity it has read, which may trail the venue's
newest snapshot by a few marks: a cap is checked against the highest equity the venue
reported in the 2 s before the decision (marks move equity by cents a tick here)."""


def equity_before(log: EventLog, account: str, at: int) -> float | None:
    """The highest equity of the account's snapshots in the window before ``at``, or its
    last snapshot before that window."""
    before = [s for s in log.accounts(account) if s.at <= at]
    recent = [equity_of(s) for s in before if s.at >= at - EQUITY_WINDOW_MS]
    if recent:
        return max(recent)
    return equity_of(before[-1]) if before else None


def within_size_caps(j: Judgement, log: EventLog, decisions: Iterable[Decision]) -> None:
    """Every accepted opening order's notional is within min(equity x fraction, cap) of
    the limits it names, and its leverage within the leverage limit."""
    over = []
    checked = 0
    for d in decisions:
        if not (d.accepted and d.opens):
            continue
        limits = limits_of(log, d)
        equity = equity_before(log, d.account, d.at)
        if limits is None or equity is None:
            over.append(f"{d.signal_id}: names no policy or has no equity")
            continue
        checked += 1
        cap = limits.max_notional(equity)
        if d.event["notional"] > cap * (1 + _SLACK) or d.event["leverage"] > limits.leverage:
            over.append(
                f"{d.account} {d.symbol} notional {d.event['notional']:.2f} > cap {cap:.2f} "
                f"or leverage {d.event['leverage']} > {limits.leverage}"
            )
    j.check(
        not over,
        f"each of the {checked} accepted opening orders is within its size and leverage caps",
        f"orders beyond their caps (size cap): {over[:3]}",
    )


def open_positions_within(j: Judgement, log: EventLog, accounts: Iterable[str], cap: int) -> None:
    """No snapshot of the venue ever shows more than ``cap`` open positions."""
    worst = {a: max((len(s["positions"]) for s in log.accounts(a)), default=0) for a in accounts}
    j.check(
        all(n <= cap for n in worst.values()),
        f"open positions never above {cap} per account (account.updated: {worst})",
        f"an account held more than {cap} positions (max open positions): {worst}",
    )


def no_risk_events(j: Judgement, log: EventLog) -> None:
    warnings, triggers = log.of(RISK_WARNING.name), log.of(CIRCUIT_BREAKER_TRIGGERED.name)
    transitions = log.transitions()
    j.check(
        not warnings and not triggers and not transitions,
        "no risk.warning, no breaker trigger, no ESS transition",
        f"{len(warnings)} warnings, {len(triggers)} breaker triggers and {len(transitions)} "
        "ESS transitions where none was due",
    )


def first_after(
    decisions: Iterable[Decision], since: int, used: str, value: object
) -> Decision | None:
    """The first decision at or after ``since`` whose record field ``used`` is ``value``."""
    return next((d for d in decisions if d.at >= since and d.event.get(used) == value), None)


def propagation(
    name: str,
    switch: Event | None,
    decisions: Sequence[Decision],
    used: str,
    value: object,
    until: int | None = None,
) -> Latency | None:
    """How long the old value outlived ``switch``: from the switch readable (appended to
    its topic) to the last decision recorded under another value after it, in ms (0 when
    every decision after it used ``value``), up to ``until`` (the next switch). This is
    the SPEC's "within 100 ms of the switch"; None when no decision came after it."""
    if switch is None:
        return None
    after = [d for d in decisions if d.at >= switch.readable and (until is None or d.at < until)]
    if not after:
        return None
    stale = [d.at - switch.readable for d in after if d.event.get(used) != value]
    return latency_of(name, [max(stale, default=0)], bound_ms=100)


def first_under(
    name: str, switch: Event | None, decisions: Sequence[Decision], used: str, value: object
) -> Latency | None:
    """The switch readable -> the first decision recorded under ``value``, in ms. Not a
    propagation bound: it also holds the wait for the next signal and any stall of the
    executor that delays every signal alike (shown as signal -> decision)."""
    if switch is None:
        return None
    first = first_after(decisions, switch.readable, used, value)
    if first is None:
        return None
    return latency_of(name, [first.at - switch.readable])


def signal_to_decision(decisions: Iterable[Decision]) -> Latency:
    return latency_of(
        "signal -> decision",
        [d.at - d.signal.at for d in decisions if d.signal is not None],
    )


def order_to_fill(log: EventLog, decisions: Iterable[Decision]) -> Latency:
    fills = log.fills()
    values = [
        fills[d.event["order_id"]][0].at - d.at
        for d in decisions
        if d.accepted and d.event["order_id"] in fills
    ]
    return latency_of("order -> fill on account.updated", values)
