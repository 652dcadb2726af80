"""Scenario 2, high volatility (SPEC §9): the active profile is switched to ``defensive``
and the strategy to ``defensive``; within 100 ms of the switch, decisions use the
stricter limits — signals at 0.60 confidence are refused and sizes shrink.

Before: profile ``normal`` and strategy ``moderate`` (min confidence 0.50, an order at most
1.5 % of equity). After: the stricter of profile ``defensive`` and strategy ``defensive``
(min confidence 0.75, at most 0.75 % of equity). ``acc-2`` streams a BUY at 0.60 every
tick (25 ms) through both switches; ``acc-1`` sends one 0.60 and one 0.80 BUY before and
after.
"""

from __future__ import annotations

from schemas.catalogue import POLICY_ACTIVATED, STRATEGY_SWITCHED
from services.demo import checks
from services.demo.events import ACCEPTED, Decision, EventLog
from services.demo.model import Event, Facts, Judgement
from services.demo.scenarios.common import (
    OPERATOR,
    around,
    expect_outcomes,
    labelled,
    send_and_settle,
)
from services.demo.script import Desk, Driver, Scenario, calm_volatility
from services.demo.timeline import moments, ordered

ACCOUNTS = ("acc-1", "acc-2")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
DEFENSIVE = "defensive"
BOUND_MS = 100
"""SPEC §9: the stricter limits apply within 100 ms of the switch."""
DEFENSIVE_MIN_CONFIDENCE = 0.75
"""max(strategy defensive 0.75, profile defensive 0.60)."""

EXPECTED = {
    "acc-1 BUY BTC 0.60 (normal)": ACCEPTED,
    "acc-1 BUY ETH 0.80 (normal)": ACCEPTED,
    "acc-1 BUY SOL 0.60 (defensive)": "BELOW_MIN_CONFIDENCE",
    "acc-1 BUY BNB 0.80 (defensive)": ACCEPTED,
}


def drive(d: Driver) -> None:
    d.step("normal profile, moderate strategy: a 0.60 and a 0.80 BUY")
    send_and_settle(
        d,
        ("acc-1", "BTCUSDT", "BUY", 0.60, "acc-1 BUY BTC 0.60 (normal)"),
        ("acc-1", "ETHUSDT", "BUY", 0.80, "acc-1 BUY ETH 0.80 (normal)"),
    )
    send_and_settle(
        d,
        ("acc-1", "BTCUSDT", "CLOSE", 0.90, "acc-1 CLOSE BTC"),
        ("acc-1", "ETHUSDT", "CLOSE", 0.90, "acc-1 CLOSE ETH"),
    )
    d.step("acc-2 streams a 0.60 BUY every tick")
    d.stream(["acc-2"], 0.60, 0.60, actions=("BUY",))
    d.ticks(20)
    d.step("volatility up: hfos policy activate defensive")
    d.hfos(
        "policy", "activate", DEFENSIVE, *OPERATOR, "--reason", "volatility up: defensive limits"
    )
    d.step("hfos strategy switch defensive")
    d.hfos(
        "strategy", "switch", DEFENSIVE, *OPERATOR, "--reason", "volatility up: defensive sizing"
    )
    d.ticks(20)
    d.step("defensive: a 0.60 and a 0.80 BUY")
    send_and_settle(
        d,
        ("acc-1", "SOLUSDT", "BUY", 0.60, "acc-1 BUY SOL 0.60 (defensive)"),
        ("acc-1", "BNBUSDT", "BUY", 0.80, "acc-1 BUY BNB 0.80 (defensive)"),
    )
    d.ticks(10)
    d.stop_stream()
    d.ticks(4)


def _first(events: list[Event], field: str, value: str) -> Event | None:
    return next((e for e in events if e[field] == value), None)


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    by_signal = checks.decided_once(j, log, facts.sent)
    decisions = log.decisions()
    activation = _first(log.of(POLICY_ACTIVATED.name), "profile", DEFENSIVE)
    switch = _first(log.of(STRATEGY_SWITCHED.name), "strategy", DEFENSIVE)
    j.check(
        activation is not None and switch is not None,
        "policy.activated defensive and strategy.switched defensive are on their topics",
        f"missing on the topics: policy.activated defensive {activation is not None}, "
        f"strategy.switched defensive {switch is not None}",
    )
    expect_outcomes(j, facts, by_signal, EXPECTED)
    checks.within_size_caps(j, log, decisions)
    _sizes_shrink(j, facts, by_signal)
    if activation is not None and switch is not None:
        _after_switch(j, decisions, activation, switch)
    checks.filled_once(j, log, decisions)
    j.timeline = ordered(
        [
            *labelled(facts, by_signal),
            *moments(e for e in (activation, switch) if e is not None),
            *around(decisions, activation, "policy_profile", DEFENSIVE),
            *around(decisions, switch, "strategy", DEFENSIVE),
        ]
    )
    return j


def _sizes_shrink(j: Judgement, facts: Facts, by_signal: dict[str, Decision]) -> None:
    before = by_signal.get(facts.labels.get("acc-1 BUY ETH 0.80 (normal)", ""))
    after = by_signal.get(facts.labels.get("acc-1 BUY BNB 0.80 (defensive)", ""))
    if before is None or after is None or not (before.accepted and after.accepted):
        j.failures.append("sizes shrink: the 0.80 BUYs before and after were not both accepted")
        return
    small, large = after.event["notional"], before.event["notional"]
    j.check(
        small < large,
        f"sizes shrink: a 0.80 BUY is {large:.2f} under normal/moderate, {small:.2f} under "
        "defensive",
        f"sizes did not shrink: {large:.2f} before, {small:.2f} after the switch",
    )


def _after_switch(
    j: Judgement, decisions: list[Decision], activation: Event, switch: Event
) -> None:
    settled = max(activation.readable, switch.readable) + BOUND_MS
    late = [d for d in decisions if d.at > settled]
    old = [
        d
        for d in late
        if (d.event.get("strategy"), d.event.get("policy_profile")) != (DEFENSIVE, DEFENSIVE)
    ]
    j.check(
        bool(late) and not old,
        f"all {len(late)} decisions from {BOUND_MS} ms after the switches on use strategy and "
        "profile defensive",
        f"{len(old)} of {len(late)} decisions more than {BOUND_MS} ms after the switches used "
        f"old limits (strategy propagation), e.g. {[d.describe() for d in old[:2]]}",
    )
    weak = [d for d in late if d.opens and (d.confidence or 0) < DEFENSIVE_MIN_CONFIDENCE]
    passed = [d for d in weak if d.outcome != "BELOW_MIN_CONFIDENCE"]
    j.check(
        bool(weak) and not passed,
        f"all {len(weak)} BUYs below 0.75 after the switches refused BELOW_MIN_CONFIDENCE",
        f"{len(passed)} of {len(weak)} BUYs below 0.75 after the switches were not refused for "
        f"confidence, e.g. {[d.describe() for d in passed[:2]]}",
    )
    for name, event, field in (
        ("policy activate defensive", activation, "policy_profile"),
        ("strategy switch defensive", switch, "strategy"),
    ):
        latency = checks.propagation(
            f"{name} -> last decision under the old limits", event, decisions, field, DEFENSIVE
        )
        j.check(
            latency is not None and latency.worst <= BOUND_MS,
            f"{latency.text() if latency else name}",
            f"{name}: {latency.text() if latency else 'no decision after it'}; the SPEC "
            f"bound is {BOUND_MS} ms",
        )
        j.latency(latency)
        j.latency(
            checks.first_under(
                f"{name} -> first decision under it", event, decisions, field, DEFENSIVE
            )
        )
    j.latency(checks.signal_to_decision(decisions))


SCENARIO = Scenario(
    number=2,
    slug="volatility",
    title="High volatility",
    summary="policy activate defensive + strategy switch defensive: within 100 ms, signals "
    "at 0.60 are refused and sizes shrink",
    desk=Desk(
        accounts=ACCOUNTS,
        symbols=SYMBOLS,
        tick_seconds=0.025,
        volatility=calm_volatility(0.025),
    ),
    drive=drive,
    judge=judge,
)
