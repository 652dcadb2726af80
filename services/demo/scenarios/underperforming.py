"""Scenario 4, underperforming strategy / model (SPEC §9): consecutive losing closes push
equity through the warning then the breaker; the account trips exactly once; new orders
for it are refused, other accounts keep trading.

The desk runs a small book: ``hfos policy set normal max_drawdown=0.03
max_risk_per_trade=0.1`` (a 3 % drawdown limit, warning at 80 % of it: 2.4 %) and
``acc-loser`` on the ``aggressive`` strategy (orders of 10 % of equity, 1 000). Each
losing trade opens a position, the simulator gaps its price down 9 % and the position is
closed -- by the position monitor's exit model, or by the script's CLOSE if it comes
first: -90 a trade, -0.9 % of equity. Three losing closes cross the warning (2.7 %); the
fourth loss, with two more positions open, crosses the limit (3.6 %); a further gap on an
open position deepens the loss without a second trigger. After the trip the never-gapped
DOT position is closed under TRIPPED. ``acc-other`` trades throughout.
"""

from __future__ import annotations

from collections import Counter

from schemas.catalogue import CIRCUIT_BREAKER_TRIGGERED, RISK_WARNING
from services.demo import checks
from services.demo.events import ACCEPTED, Decision, EventLog
from services.demo.model import Event, Facts, Judgement, latency_of
from services.demo.plotdata import risk_plot
from services.demo.scenarios.common import (
    DECISION_SECONDS,
    OPERATOR,
    closes_pass,
    expect_outcomes,
    labelled,
    send_and_settle,
)
from services.demo.script import Desk, Driver, Scenario
from services.demo.timeline import moment, moments, ordered

LOSER, OTHER = "acc-loser", "acc-other"
ACCOUNTS = (LOSER, OTHER)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOTUSDT")
MAX_DRAWDOWN = 0.03
WARN_FRACTION = 0.8
GAP = -0.09
LOSING = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
NO_FLASH_CRASH = 0.5
"""The position monitor's flash-crash detector would take each 9 % gap for a crash (3 %
in 10 s, SPEC §6) and trip global: here the gaps are the strategy's own losing trades, and
the detector is scenario 6's, so this book's policy sets it at 50 %."""
BREACH_P99_MS = 100
"""SPEC §3: breaching event -> trigger consumable, p99 under 100 ms. The scenario has one
breach: its latency is reported beside that bound, not judged by it -- one sample says
nothing of a 99th percentile (on this 2-core machine 14-101 ms over 21 runs, the
101 ms while the machine was loaded), and ``bench/breaker.py`` measures the p99 over
1 000 breaches."""

EXPECTED = {
    f"{LOSER} BUY ADA after the trip": "ESS_TRIPPED",
    f"{LOSER} CLOSE DOT after the trip": ACCEPTED,
    f"{OTHER} BUY ADA after the trip": ACCEPTED,
}


def triggered(account: str) -> object:
    def holds(log: EventLog) -> bool:
        return any(e["account_id"] == account for e in log.of(CIRCUIT_BREAKER_TRIGGERED.name))

    return holds


def drive(d: Driver) -> None:
    d.step("a small book: 3 % drawdown limit, acc-loser on aggressive sizing")
    d.hfos(
        "policy",
        "set",
        "normal",
        f"max_drawdown={MAX_DRAWDOWN}",
        "max_risk_per_trade=0.1",
        f"flash_crash_drop={NO_FLASH_CRASH}",
        *OPERATOR,
        "--reason",
        "demo: a small book with a 3 % drawdown limit",
    )
    d.hfos(
        "strategy",
        "switch",
        "aggressive",
        "--scope",
        f"account:{LOSER}",
        *OPERATOR,
        "--reason",
        "demo: the strategy under test",
    )
    for number, symbol in enumerate(LOSING, 1):
        d.step(f"losing trade {number}: BUY {symbol}, gap {GAP:.0%}, CLOSE")
        send_and_settle(d, (LOSER, symbol, "BUY", 0.9, f"{LOSER} BUY {symbol} (trade {number})"))
        d.gap(symbol, GAP)
        d.ticks(3)
        send_and_settle(
            d,
            (LOSER, symbol, "CLOSE", 0.9, f"{LOSER} CLOSE {symbol} (trade {number})"),
            (OTHER, symbol, "BUY", 0.8, f"{OTHER} BUY {symbol}"),
        )
    d.step("three more positions, then the loss that crosses the limit")
    send_and_settle(
        d,
        (LOSER, "BNBUSDT", "BUY", 0.9, f"{LOSER} BUY BNB"),
        (LOSER, "XRPUSDT", "BUY", 0.9, f"{LOSER} BUY XRP"),
        (LOSER, "DOTUSDT", "BUY", 0.9, f"{LOSER} BUY DOT"),
    )
    d.gap("BNBUSDT", GAP)
    d.wait_for(f"the breaker trips {LOSER}", triggered(LOSER), DECISION_SECONDS)  # type: ignore[arg-type]
    d.step("a deeper loss on the open XRP position: the breaker stays latched")
    d.gap("XRPUSDT", GAP)
    d.ticks(10)
    d.step("after the trip: new orders of acc-loser refused, closes pass, acc-other trades")
    send_and_settle(
        d,
        (LOSER, "ADAUSDT", "BUY", 0.9, f"{LOSER} BUY ADA after the trip"),
        (LOSER, "DOTUSDT", "CLOSE", 0.9, f"{LOSER} CLOSE DOT after the trip"),
        (OTHER, "ADAUSDT", "BUY", 0.8, f"{OTHER} BUY ADA after the trip"),
    )
    d.ticks(10)


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    by_signal = checks.decided_once(j, log, facts.sent)
    decisions = log.decisions()
    warnings = [e for e in log.of(RISK_WARNING.name) if e["account_id"] == LOSER]
    triggers = log.of(CIRCUIT_BREAKER_TRIGGERED.name)
    mine = [e for e in triggers if e["account_id"] == LOSER]
    closes = _losing_closes(log, mine[0].at if mine else None)
    j.check(
        len(closes) >= len(LOSING),
        f"{len(closes)} losing closes before the trigger (realized "
        f"{', '.join(f'{c:+.2f}' for c in closes)})",
        f"only {len(closes)} losing closes before the trigger; the script made {len(LOSING)}",
    )
    per_rule = Counter(str(e["rule"]) for e in warnings)
    drawdown = [e for e in warnings if e["rule"] == "MAX_DRAWDOWN"]
    j.check(
        bool(drawdown) and bool(mine) and drawdown[0].at <= mine[0].at,
        f"the MAX_DRAWDOWN warning came before the trigger ({drawdown[0]['value']:.2%} >= "
        f"{drawdown[0]['warn_fraction']:.0%} of {drawdown[0]['limit']:.2%})"
        if drawdown
        else "",
        f"no MAX_DRAWDOWN risk.warning for {LOSER} before its trigger (breaker warning)",
    )
    j.check(
        bool(per_rule) and max(per_rule.values()) == 1,
        f"one risk.warning per rule in the episode ({dict(per_rule)})",
        f"risk.warning repeated within the episode (once per rule): {dict(per_rule)}",
    )
    j.check(
        len(mine) == 1,
        f"{LOSER} tripped exactly once (one risk.circuit_breaker.triggered, rule {mine[0]['rule']})"
        if mine
        else "",
        f"{LOSER} has {len(mine)} risk.circuit_breaker.triggered records; the breaker must "
        "latch: exactly one per episode (breaker latch)",
    )
    j.check(
        all(e["account_id"] == LOSER for e in triggers),
        f"no trigger for {OTHER}",
        f"{OTHER} tripped too: {[moment(e).text for e in triggers if e['account_id'] != LOSER]}",
    )
    tripped = [e for e in log.transitions(f"account:{LOSER}") if e["state"] == "TRIPPED"]
    j.check(
        len(tripped) == 1 and tripped[0]["trigger"] == "CIRCUIT_BREAKER",
        f"account:{LOSER} ARMED -> TRIPPED once (CIRCUIT_BREAKER)",
        f"account:{LOSER} went TRIPPED {len(tripped)} times "
        f"({[e['trigger'] for e in tripped]}); expected once, by the breaker",
    )
    expect_outcomes(j, facts, by_signal, EXPECTED)
    if tripped:
        _after_trip(j, decisions, tripped[0])
    checks.filled_once(j, log, decisions)
    j.timeline = ordered(
        [
            *labelled(facts, by_signal),
            *moments(warnings + triggers + log.transitions()),
            *moments(e for e in log.of("policy.updated") if e["author"] != "hfos-streams"),
        ]
    )
    _latencies(j, log, mine, tripped)
    j.plots.append(
        risk_plot(
            log,
            "Scenario 4: losing closes through the warning and the breaker",
            ACCOUNTS,
            (LOSER,),
            (f"account:{LOSER}", "global"),
            MAX_DRAWDOWN,
            WARN_FRACTION,
        )
    )
    return j


def _losing_closes(log: EventLog, before: int | None) -> list[float]:
    return [
        float(c["realized_pnl"])
        for s in log.accounts(LOSER)
        if before is None or s.at <= before
        for c in s["closed"]
        if float(c["realized_pnl"]) < 0
    ]


def _after_trip(j: Judgement, decisions: list[Decision], tripped: Event) -> None:
    after = [d for d in decisions if d.at > tripped.at]
    opens = [d for d in after if d.account == LOSER and d.opens]
    let_through = [d for d in opens if d.outcome != "ESS_TRIPPED"]
    j.check(
        bool(opens) and not let_through,
        f"every new order of {LOSER} after the trip refused ESS_TRIPPED ({len(opens)})",
        f"{len(let_through)} new orders of {LOSER} after the trip were not refused ESS_TRIPPED "
        f"(executor under TRIPPED): {[d.describe() for d in let_through[:2]]}",
    )
    closes_pass(j, decisions, (tripped.at, 2**63 - 1), (LOSER,))
    others = [d for d in after if d.account == OTHER and d.opens and d.accepted]
    j.check(
        bool(others),
        f"{OTHER} kept trading: {len(others)} new orders accepted after the trip",
        f"{OTHER} had no order accepted after {LOSER} tripped (other accounts keep trading)",
    )


def _latencies(j: Judgement, log: EventLog, mine: list[Event], tripped: list[Event]) -> None:
    if not mine:
        return
    trigger = mine[0]
    tipping = log.by_id(str(trigger["tipping_event_id"]))
    if tipping is not None:
        j.latency(
            latency_of(
                f"breach (account.updated) -> trigger (one breach; SPEC: p99 < {BREACH_P99_MS} "
                "ms over many, bench/breaker.py)",
                [trigger.at - tipping.at],
            )
        )
    if tripped:
        j.latency(latency_of("trigger -> ESS TRIPPED", [tripped[0].at - trigger.at]))


SCENARIO = Scenario(
    number=4,
    slug="underperforming",
    title="Underperforming strategy",
    summary="losing closes cross the warning then the breaker; the account trips exactly "
    "once, its new orders are refused, another account keeps trading",
    desk=Desk(accounts=ACCOUNTS, symbols=SYMBOLS, volatility=0.0002),
    drive=drive,
    judge=judge,
)
