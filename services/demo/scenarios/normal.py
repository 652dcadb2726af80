"""Scenario 1, normal trading (SPEC §9): signals above min confidence become orders within
size, leverage and position caps; no warning, no trip.

Two accounts on the default desk (strategy ``moderate``, profile ``normal``: min confidence
0.50, an order at most min(1.5 % of equity, 1 000), leverage 5, five open positions).
Account ``acc-1`` opens five symbols and is refused a sixth (MAX_OPEN_POSITIONS); signals
below 0.50 are refused (BELOW_MIN_CONFIDENCE); two positions are closed again.
"""

from __future__ import annotations

from services.demo import checks
from services.demo.events import ACCEPTED, EventLog
from services.demo.model import Facts, Judgement
from services.demo.scenarios.common import expect_outcomes, labelled, send_and_settle
from services.demo.script import Desk, Driver, Scenario
from services.demo.timeline import moments, ordered

ACCOUNTS = ("acc-1", "acc-2")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT")
MAX_OPEN = 5
"""min(moderate's 5, normal's 30)."""

# (account, symbol, action, confidence, label), sent a few at a time.
ROUNDS: tuple[tuple[tuple[str, str, str, float, str], ...], ...] = (
    (
        ("acc-1", "BTCUSDT", "BUY", 0.82, "acc-1 BUY BTC 0.82"),
        ("acc-2", "ETHUSDT", "SELL", 0.71, "acc-2 SELL ETH 0.71"),
    ),
    (
        ("acc-1", "ETHUSDT", "BUY", 0.45, "acc-1 BUY ETH 0.45"),
        ("acc-2", "SOLUSDT", "BUY", 0.66, "acc-2 BUY SOL 0.66"),
    ),
    (
        ("acc-1", "SOLUSDT", "SELL", 0.93, "acc-1 SELL SOL 0.93"),
        ("acc-2", "BTCUSDT", "BUY", 0.38, "acc-2 BUY BTC 0.38"),
    ),
    (
        ("acc-1", "BNBUSDT", "BUY", 0.58, "acc-1 BUY BNB 0.58"),
        ("acc-1", "XRPUSDT", "BUY", 0.77, "acc-1 BUY XRP 0.77"),
        ("acc-1", "ADAUSDT", "SELL", 0.69, "acc-1 SELL ADA 0.69"),
    ),
    (("acc-1", "ETHUSDT", "BUY", 0.88, "acc-1 BUY ETH 0.88 (6th symbol)"),),
    (
        ("acc-1", "BTCUSDT", "CLOSE", 0.90, "acc-1 CLOSE BTC"),
        ("acc-2", "ETHUSDT", "CLOSE", 0.90, "acc-2 CLOSE ETH"),
    ),
)

EXPECTED = {
    "acc-1 BUY BTC 0.82": ACCEPTED,
    "acc-2 SELL ETH 0.71": ACCEPTED,
    "acc-1 BUY ETH 0.45": "BELOW_MIN_CONFIDENCE",
    "acc-2 BUY SOL 0.66": ACCEPTED,
    "acc-1 SELL SOL 0.93": ACCEPTED,
    "acc-2 BUY BTC 0.38": "BELOW_MIN_CONFIDENCE",
    "acc-1 BUY BNB 0.58": ACCEPTED,
    "acc-1 BUY XRP 0.77": ACCEPTED,
    "acc-1 SELL ADA 0.69": ACCEPTED,
    "acc-1 BUY ETH 0.88 (6th symbol)": "MAX_OPEN_POSITIONS",
    "acc-1 CLOSE BTC": ACCEPTED,
    "acc-2 CLOSE ETH": ACCEPTED,
}


def drive(d: Driver) -> None:
    for number, orders in enumerate(ROUNDS, 1):
        d.step(f"signals, round {number} of {len(ROUNDS)}")
        send_and_settle(d, *orders)
        d.ticks(2)


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    by_signal = checks.decided_once(j, log, facts.sent)
    expect_outcomes(j, facts, by_signal, EXPECTED)
    decisions = log.decisions()
    checks.within_size_caps(j, log, decisions)
    checks.open_positions_within(j, log, ACCOUNTS, MAX_OPEN)
    checks.filled_once(j, log, decisions)
    flat = {
        account: {p["symbol"] for p in log.accounts(account)[-1]["positions"]}
        for account in ACCOUNTS
        if log.accounts(account)
    }
    j.check(
        "BTCUSDT" not in flat.get("acc-1", {"BTCUSDT"})
        and "ETHUSDT" not in flat.get("acc-2", {"ETHUSDT"}),
        "the closed positions are gone from the venue's last account.updated",
        f"a CLOSE did not flatten its position (venue holds {flat})",
    )
    checks.no_risk_events(j, log)
    j.timeline = ordered(
        [*labelled(facts, by_signal), *moments(fills[0] for fills in log.fills().values())]
    )
    j.latency(checks.signal_to_decision(decisions))
    j.latency(checks.order_to_fill(log, decisions))
    return j


SCENARIO = Scenario(
    number=1,
    slug="normal",
    title="Normal trading",
    summary="signals above min confidence become orders within size, leverage and "
    "position caps; no warning, no trip",
    desk=Desk(accounts=ACCOUNTS, symbols=SYMBOLS),
    drive=drive,
    judge=judge,
)
