"""Scenario 3, regime shift (SPEC §9): ``strategy.switched`` mid-stream; no decision after
the switch uses the old strategy.

Two accounts stream a seeded signal every tick (30 ms; BUY, SELL or CLOSE, confidence
0.40-0.95) while the operator switches the global strategy twice: moderate -> aggressive
-> conservative. Each decision records the strategy and the switch version it used.
"After the switch" is from the moment the broker appended it plus 100 ms, the SPEC's
propagation bound: the last decision under the old strategy must come within it. How soon
the first decision under the new one comes is shown, not judged: it also holds the wait
for the next signal and any stall that delays every signal alike.
"""

from __future__ import annotations

from schemas.catalogue import STRATEGY_SWITCHED
from services.demo import checks
from services.demo.events import Decision, EventLog
from services.demo.model import Event, Facts, Judgement
from services.demo.scenarios.common import OPERATOR, around
from services.demo.script import Desk, Driver, Scenario, calm_volatility
from services.demo.timeline import moments, ordered

ACCOUNTS = ("acc-1", "acc-2")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
BOUND_MS = 100
SHIFTS = (("aggressive", "trend regime: aggressive sizing"), ("conservative", "choppy regime"))


def drive(d: Driver) -> None:
    d.step("three accounts stream signals under moderate")
    d.stream(ACCOUNTS, 0.40, 0.95)
    d.ticks(30)
    for strategy, reason in SHIFTS:
        d.step(f"regime shift: hfos strategy switch {strategy}")
        d.hfos("strategy", "switch", strategy, *OPERATOR, "--reason", reason)
        d.ticks(30)
    d.stop_stream()
    d.ticks(4)


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    checks.decided_once(j, log, facts.sent)
    decisions = log.decisions()
    switches = [e for e in log.of(STRATEGY_SWITCHED.name) if e["scope"] == "global"]
    j.check(
        [e["strategy"] for e in switches] == [s for s, _ in SHIFTS],
        f"strategy.switched: {' -> '.join(['moderate', *(s for s, _ in SHIFTS)])}",
        f"strategy.switched holds {[e['strategy'] for e in switches]}, expected "
        f"{[s for s, _ in SHIFTS]}",
    )
    before = [d for d in decisions if not switches or d.at < switches[0].readable]
    j.check(
        bool(before) and all(d.event.get("strategy") == "moderate" for d in before),
        f"all {len(before)} decisions before the first switch use moderate",
        "decisions before the first switch did not all use moderate",
    )
    for index, switch in enumerate(switches):
        until = switches[index + 1].readable if index + 1 < len(switches) else None
        _regime(j, decisions, switch, until)
    j.timeline = ordered(
        [
            *moments(switches),
            *(m for s in switches for m in around(decisions, s, "strategy", s["strategy"])),
        ]
    )
    j.latency(checks.signal_to_decision(decisions))
    return j


def _regime(j: Judgement, decisions: list[Decision], switch: Event, until: int | None) -> None:
    strategy, version = switch["strategy"], switch["version"]
    start = switch.readable
    after = [d for d in decisions if d.at >= start and (until is None or d.at < until)]
    window = [d for d in after if d.at <= start + BOUND_MS]
    judged = [d for d in after if d.at > start + BOUND_MS]
    old = [d for d in judged if d.event.get("strategy") != strategy]
    j.check(
        bool(judged) and not old,
        f"switch v{version} to {strategy}: all {len(judged)} later decisions use it "
        f"({len(window)} in its first {BOUND_MS} ms, "
        f"{sum(d.event.get('strategy') == strategy for d in window)} of them under it)",
        f"switch v{version} to {strategy}: {len(old)} of {len(judged)} later decisions used the "
        f"old strategy (strategy propagation), e.g. {[d.describe() for d in old[:2]]}",
    )
    latency = checks.propagation(
        f"switch v{version} -> last decision under the old strategy",
        switch,
        decisions,
        "strategy",
        strategy,
        until,
    )
    j.check(
        latency is not None and latency.worst <= BOUND_MS,
        latency.text() if latency else "",
        f"switch v{version}: {latency.text() if latency else 'no decision after it'}; the "
        f"SPEC bound is {BOUND_MS} ms",
    )
    j.latency(latency)
    j.latency(
        checks.first_under(
            f"switch v{version} -> first decision under {strategy}",
            switch,
            decisions,
            "strategy",
            strategy,
        )
    )


SCENARIO = Scenario(
    number=3,
    slug="regime",
    title="Regime shift",
    summary="strategy.switched mid-stream; no decision after the switch uses the old strategy",
    desk=Desk(
        accounts=ACCOUNTS,
        symbols=SYMBOLS,
        tick_seconds=0.03,
        volatility=calm_volatility(0.03),
    ),
    drive=drive,
    judge=judge,
)
