"""What several scenarios' scripts and judges share: waiting conditions on the events read
back, and the check of each scripted signal's expected outcome. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from services.demo import checks
from services.demo.events import ACCEPTED, Decision, EventLog
from services.demo.model import Event, Facts, Judgement, Moment
from services.demo.script import Driver
from services.demo.timeline import moment

Condition = Callable[[EventLog], bool]

DECISION_SECONDS = 30.0
"""How long a script waits for a signal's decision or fill. The executor decides in
milliseconds; 30 s covers a loaded 2-core machine and a restarting service."""

OPERATOR = ("--by", "demo-operator")


def decided(*signal_ids: str) -> Condition:
    """Every one of ``signal_ids`` has a decision."""

    def holds(log: EventLog) -> bool:
        seen = {d.signal_id for d in log.decisions()}
        return all(s in seen for s in signal_ids)

    return holds


def settled(*signal_ids: str) -> Condition:
    """Every one of ``signal_ids`` is decided, and each accepted one executed by the venue
    (its FILL on ``account.updated``, or an ``order.failed``)."""

    def holds(log: EventLog) -> bool:
        by_signal = {d.signal_id: d for d in log.decisions()}
        if not all(s in by_signal for s in signal_ids):
            return False
        fills, failed = log.fills(), log.failed_orders()
        return all(
            not by_signal[s].accepted
            or by_signal[s].event["order_id"] in fills
            or by_signal[s].event["order_id"] in failed
            for s in signal_ids
        )

    return holds


def send_and_settle(d: Driver, *orders: tuple[str, str, str, float, str]) -> list[str]:
    """Send ``(account, symbol, action, confidence, label)`` signals with the next tick and
    wait until each is decided and, if accepted, filled."""
    ids = [
        d.signal(account, symbol, action, conf, label)
        for account, symbol, action, conf, label in orders
    ]
    d.wait_for(
        f"{', '.join(o[4] for o in orders)} decided and filled", settled(*ids), DECISION_SECONDS
    )
    return ids


def expect_outcomes(
    j: Judgement, facts: Facts, by_signal: Mapping[str, Decision], expected: Mapping[str, str]
) -> None:
    """Each labelled signal was decided as ``expected`` (ACCEPTED or a deny reason)."""
    for label, outcome in expected.items():
        decision = by_signal.get(facts.labels.get(label, ""))
        got = "no decision" if decision is None else decision.outcome
        detail = "" if decision is None or decision.accepted else f" ({decision.event['detail']})"
        j.check(
            got == outcome,
            f"{label}: {outcome}",
            f"{label}: {got}{detail}; expected {outcome}",
        )


def labelled(facts: Facts, by_signal: Mapping[str, Decision]) -> list[Moment]:
    """The timeline line of every labelled signal's decision, named by its label."""
    lines = []
    for label, signal_id in facts.labels.items():
        decision = by_signal.get(signal_id)
        if decision is not None:
            line = moment(decision.event)
            lines.append(Moment(line.at, line.topic, f"[{label}] {line.text}"))
    return lines


def accepted_share(decisions: Sequence[Decision]) -> str:
    accepted = sum(d.outcome == ACCEPTED for d in decisions)
    return f"{accepted} of {len(decisions)} accepted"


def around(
    decisions: Sequence[Decision], change: Event | None, field: str, value: object
) -> list[Moment]:
    """The last decision before ``change`` and the first recorded under ``value``."""
    if change is None:
        return []
    before = [d for d in decisions if d.at < change.at]
    first = checks.first_after(decisions, change.at, field, value)
    return [moment(d.event) for d in (*before[-1:], *([first] if first else []))]


def closes_pass(
    j: Judgement,
    decisions: Sequence[Decision],
    window: tuple[int, int],
    accounts: Sequence[str],
) -> list[Decision]:
    """Every close decided in ``window`` (a scope TRIPPED) passed. The position monitor's
    exit model closes what a gap hit, sometimes just before the trip, and a script's close
    of it then finds nothing to close: refused NO_POSITION_TO_CLOSE after an accepted
    close of the same position passes too. Any other refusal fails, and so does one of
    ``accounts`` with no close accepted in the window. Returns the closes up to its end."""
    closes = [d for d in decisions if d.action == "CLOSE" and d.at < window[1]]
    closed: set[tuple[str, str]] = set()
    blocked, under, passed = [], 0, set()
    for d in closes:
        inside = d.at >= window[0]
        under += inside
        if d.accepted:
            closed.add((d.account, d.symbol))
            if inside:
                passed.add(d.account)
        elif inside and (
            d.outcome != "NO_POSITION_TO_CLOSE" or (d.account, d.symbol) not in closed
        ):
            blocked.append(d.describe())
    missing = sorted(set(accounts) - passed)
    j.check(
        under > 0 and not blocked and not missing,
        f"closes pass under TRIPPED: {under} decided, none refused but for a position already "
        f"closed; accepted for {', '.join(sorted(passed))}",
        f"closes blocked under TRIPPED (executor): {blocked[:3]}; {under} decided under it; "
        f"no close accepted for {missing}",
    )
    return closes
