"""Scenario 6, black swan (SPEC §9): a 20 % price gap — the flash-crash detector and the
breaker fire, the global scope goes TRIPPED, every new order is refused while close
orders still pass; it stays TRIPPED until an operator reset, then COOLING_DOWN, then ARMED.

The desk holds 10 % positions (``aggressive``, ``max_risk_per_trade=0.1``) under a 1.5 %
drawdown limit and a 5 s ESS cooldown (``ess_cooldown_seconds=5``, so the demo does not
wait out the default 15 minutes). ``acc-1`` is long BTC and ADA, ``acc-2`` long ETH; BTC
gaps -20 %: ``acc-1`` loses 2 % of equity (its breaker fires, ``account:acc-1`` TRIPPED)
and the position monitor's flash-crash detector asks the ESS to trip ``global`` (its exit
model closes the gapped BTC as well, often in the same tick). Both accounts' new orders
are then refused, their closes (ADA, ETH) pass; 10 s later (twice the
cooldown) the scopes are still TRIPPED; the operator resets them; each goes COOLING_DOWN,
then ARMED, and new orders pass again.

The flash-crash half needs the position monitor (``hfos monitor run``, issue 14); in a
build without it the breaker and ESS half is judged and the scenario says what it
could not show.
"""

from __future__ import annotations

from itertools import pairwise

from schemas.catalogue import CIRCUIT_BREAKER_TRIGGERED, ESS_COMMAND, MARKET_PRICE
from services.demo import checks
from services.demo.events import ACCEPTED, Decision, EventLog
from services.demo.model import Event, Facts, Judgement, Moment, latency_of
from services.demo.plotdata import risk_plot
from services.demo.scenarios.common import (
    DECISION_SECONDS,
    OPERATOR,
    Condition,
    closes_pass,
    expect_outcomes,
    labelled,
    send_and_settle,
)
from services.demo.script import Desk, Driver, Scenario
from services.demo.timeline import moment, moments, ordered
from services.up.plan import EXIT_MODEL

ACCOUNTS = ("acc-1", "acc-2")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")
MAX_DRAWDOWN = 0.015
COOLDOWN_SECONDS = 5
HOLD_SECONDS = 2 * COOLDOWN_SECONDS
GAP = -0.20
MONITOR = "monitor"
ACCOUNT_SCOPE = "account:acc-1"


def _has_monitor(facts: Facts) -> bool:
    return MONITOR in facts.parts


def state_of(scope: str, state: str, trigger: str | None = None) -> Condition:
    def holds(log: EventLog) -> bool:
        return any(
            e["state"] == state and (trigger is None or e["trigger"] == trigger)
            for e in log.transitions(scope)
        )

    return holds


def tripped(account: str) -> Condition:
    def holds(log: EventLog) -> bool:
        return any(e["account_id"] == account for e in log.of(CIRCUIT_BREAKER_TRIGGERED.name))

    return holds


def drive(d: Driver) -> None:
    monitor = _has_monitor(d.facts)
    d.step("a desk of 10 % positions, 1.5 % drawdown limit, 5 s ESS cooldown")
    d.hfos(
        "policy",
        "set",
        "normal",
        f"max_drawdown={MAX_DRAWDOWN}",
        "max_risk_per_trade=0.1",
        f"ess_cooldown_seconds={COOLDOWN_SECONDS}",
        *OPERATOR,
        "--reason",
        "demo: 10 % positions, a 1.5 % drawdown limit, a 5 s cooldown",
    )
    d.hfos("strategy", "switch", "aggressive", *OPERATOR, "--reason", "demo: 10 % positions")
    send_and_settle(
        d,
        ("acc-1", "BTCUSDT", "BUY", 0.9, "acc-1 BUY BTC"),
        ("acc-1", "ADAUSDT", "BUY", 0.9, "acc-1 BUY ADA"),
        ("acc-2", "ETHUSDT", "BUY", 0.9, "acc-2 BUY ETH"),
    )
    d.step(f"black swan: BTCUSDT gaps {GAP:.0%}")
    d.gap("BTCUSDT", GAP)
    d.wait_for("the breaker trips acc-1", tripped("acc-1"), DECISION_SECONDS)
    if monitor:
        d.wait_for(
            "the flash-crash detector trips global",
            state_of("global", "TRIPPED", "FLASH_CRASH"),
            DECISION_SECONDS,
        )
    d.step("TRIPPED: new orders refused, closes pass")
    send_and_settle(
        d,
        ("acc-1", "SOLUSDT", "BUY", 0.9, "acc-1 BUY SOL (TRIPPED)"),
        ("acc-2", "SOLUSDT", "BUY", 0.9, "acc-2 BUY SOL (TRIPPED)"),
        ("acc-1", "BTCUSDT", "CLOSE", 0.9, "acc-1 CLOSE BTC (TRIPPED)"),
        ("acc-1", "ADAUSDT", "CLOSE", 0.9, "acc-1 CLOSE ADA (TRIPPED)"),
        ("acc-2", "ETHUSDT", "CLOSE", 0.9, "acc-2 CLOSE ETH (TRIPPED)"),
    )
    d.step(f"no timer un-trips: {HOLD_SECONDS} s, twice the cooldown")
    d.sleep(HOLD_SECONDS)
    d.step("operator reset: COOLING_DOWN, then ARMED after the cooldown")
    d.mark("operator reset")
    if monitor:
        d.hfos("ess", "reset", "--scope", "global", *OPERATOR, "--reason", "gap absorbed")
    d.hfos(
        "breaker",
        "reset",
        "--account",
        "acc-1",
        "--rebase-peak",
        *OPERATOR,
        "--reason",
        "loss taken",
    )
    d.hfos("ess", "reset", "--scope", ACCOUNT_SCOPE, *OPERATOR, "--reason", "loss taken")
    for scope in (("global",) if monitor else ()) + (ACCOUNT_SCOPE,):
        d.wait_for(
            f"{scope} ARMED after its cooldown",
            state_of(scope, "ARMED", "COOLDOWN_ELAPSED"),
            COOLDOWN_SECONDS + DECISION_SECONDS,
        )
    d.step("ARMED: new orders pass again")
    send_and_settle(
        d,
        ("acc-1", "BNBUSDT", "BUY", 0.9, "acc-1 BUY BNB (ARMED)"),
        ("acc-2", "BNBUSDT", "BUY", 0.9, "acc-2 BUY BNB (ARMED)"),
    )
    d.ticks(5)


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    monitor = _has_monitor(facts)
    by_signal = checks.decided_once(j, log, facts.sent)
    decisions = log.decisions()
    triggers = [e for e in log.of(CIRCUIT_BREAKER_TRIGGERED.name) if e["account_id"] == "acc-1"]
    j.check(
        len(triggers) == 1,
        "the breaker fired once for acc-1 "
        f"({triggers[0]['drawdown']:.2%} > {triggers[0]['threshold']:.2%})"
        if triggers
        else "",
        f"acc-1 has {len(triggers)} breaker triggers after the gap; expected one (breaker)",
    )
    expected = {
        "acc-1 BUY SOL (TRIPPED)": "ESS_TRIPPED",
        "acc-1 BUY BNB (ARMED)": ACCEPTED,
        "acc-2 BUY BNB (ARMED)": ACCEPTED,
    }
    scopes = [ACCOUNT_SCOPE]
    if monitor:
        expected["acc-2 BUY SOL (TRIPPED)"] = "ESS_TRIPPED"
        scopes.insert(0, "global")
        _flash_crash(j, log)
    expect_outcomes(j, facts, by_signal, expected)
    for scope in scopes:
        _trip_cycle(j, log, scope)
    window = _tripped_window(log, scopes)
    exits = [] if window is None else closes_pass(j, decisions, window, ACCOUNTS)
    if window is not None:
        _opens_refused(j, decisions, window, ACCOUNTS if monitor else ("acc-1",))
    if window is None:
        j.failures.append("no scope went TRIPPED, so no close was decided under it (ESS)")
    checks.filled_once(j, log, decisions)
    _latencies(j, log, triggers)
    j.timeline = ordered(
        [
            *labelled(facts, by_signal),
            *(_exit_line(d) for d in exits if d.signal_id not in facts.labels.values()),
            *moments(triggers),
            *moments(log.transitions()),
            *moments(e for e in log.of(ESS_COMMAND.name) if e["kind"] != "END_COOLDOWN"),
            *moments(_gap_tick(log)),
        ]
    )
    j.plots.append(
        risk_plot(
            log,
            "Scenario 6: a 20 % gap, the breaker and the emergency stop",
            ACCOUNTS,
            ("acc-1",),
            ("global", ACCOUNT_SCOPE),
            MAX_DRAWDOWN,
            0.8,
            prices=("BTCUSDT",),
        )
    )
    if not monitor and not j.failures:
        j.skipped = (
            f"the breaker and ESS half passed ({len(j.checks)} checks); the flash-crash half "
            "(FLASH_CRASH -> global TRIPPED, every account refused) needs the position monitor "
            "(hfos monitor run, issue 14), not in this build"
        )
    return j


def _flash_crash(j: Judgement, log: EventLog) -> None:
    crashes = [e for e in log.transitions("global") if e["trigger"] == "FLASH_CRASH"]
    j.check(
        len(crashes) == 1 and crashes[0]["state"] == "TRIPPED",
        "the flash-crash detector tripped global once (FLASH_CRASH)",
        f"global FLASH_CRASH transitions: {[e['state'] for e in crashes]}; expected one to "
        "TRIPPED (flash-crash detector)",
    )
    gap = _gap_tick(log)
    if crashes and gap:
        j.latency(latency_of("gap price -> global TRIPPED", [crashes[0].at - gap[0].at]))


def _exit_line(d: Decision) -> Moment:
    line = moment(d.event)
    model = d.signal.get("model_name") if d.signal is not None else None
    source = "the position monitor's exit model" if model == EXIT_MODEL else "a close"
    return Moment(line.at, line.topic, f"[{source}] {line.text}")


def _opens_refused(
    j: Judgement, decisions: list[Decision], window: tuple[int, int], accounts: tuple[str, ...]
) -> None:
    """Under TRIPPED every new order of ``accounts`` is refused ESS_TRIPPED."""
    opens = [
        d for d in decisions if window[0] <= d.at < window[1] and d.opens and d.account in accounts
    ]
    let_through = [d.describe() for d in opens if d.outcome != "ESS_TRIPPED"]
    j.check(
        bool(opens) and not let_through,
        f"every new order under TRIPPED refused ESS_TRIPPED ({len(opens)})",
        f"{len(let_through)} of {len(opens)} new orders under TRIPPED not refused ESS_TRIPPED "
        f"(executor under TRIPPED): {let_through[:2]}",
    )


def _tripped_window(log: EventLog, scopes: list[str]) -> tuple[int, int] | None:
    """From the first scope's TRIPPED to the last one's leaving it (the operator's reset)."""
    starts, ends = [], []
    for scope in scopes:
        transitions = log.transitions(scope)
        for index, e in enumerate(transitions):
            if e["state"] == "TRIPPED":
                starts.append(e.at)
                later = transitions[index + 1 : index + 2]
                ends.append(later[0].at if later else 2**63 - 1)
    return (min(starts), max(ends)) if starts else None


def _trip_cycle(j: Judgement, log: EventLog, scope: str) -> None:
    """TRIPPED, held until an operator's RESET, then COOLING_DOWN, then ARMED."""
    transitions = log.transitions(scope)
    states = [(str(e["state"]), str(e["trigger"])) for e in transitions]
    trip = next((i for i, (state, _) in enumerate(states) if state == "TRIPPED"), None)
    cycle = states[trip:] if trip is not None else []
    j.check(
        [s for s, _ in cycle] == ["TRIPPED", "COOLING_DOWN", "ARMED"]
        and cycle[1][1] == "RESET"
        and cycle[2][1] == "COOLDOWN_ELAPSED",
        f"{scope}: TRIPPED -> COOLING_DOWN (RESET) -> ARMED (COOLDOWN_ELAPSED)",
        f"{scope} went {' -> '.join(f'{s} ({t})' for s, t in states) or 'nowhere'}; expected "
        "TRIPPED, then COOLING_DOWN on the operator's RESET, then ARMED (ESS)",
    )
    if trip is None or len(cycle) < 2:  # noqa: PLR2004 - TRIPPED and what left it
        return
    held = (transitions[trip + 1].at - transitions[trip].at) / 1000
    j.check(
        held >= HOLD_SECONDS,
        f"{scope} stayed TRIPPED {held:.1f} s, until the operator's reset",
        f"{scope} left TRIPPED after {held:.1f} s, before the operator's reset (sticky TRIPPED)",
    )


def _gap_tick(log: EventLog) -> list[Event]:
    """The BTCUSDT price that carried the gap (the largest tick-to-tick drop)."""
    prices = [e for e in log.of(MARKET_PRICE.name) if e["symbol"] == "BTCUSDT"]
    drops = [(b["price"] / a["price"] - 1, b) for a, b in pairwise(prices)]
    worst = min(drops, key=lambda pair: pair[0], default=None)
    return [worst[1]] if worst is not None and worst[0] < GAP / 2 else []


def _latencies(j: Judgement, log: EventLog, triggers: list[Event]) -> None:
    """Shown, not judged: the SPEC's breach -> trigger bound (p99 < 100 ms) is judged in
    scenario 4 and measured over 1000 breaches by bench/breaker.py. Here the one breach
    comes with the gap's burst -- exchange, worker, executor and monitor all busy on the
    same tick, on two cores -- and its time runs from the exchange's event time, stamped
    before its transaction commits (150-240 ms measured here, 20-35 ms without the
    monitor)."""
    if not triggers:
        return
    tipping = log.by_id(str(triggers[0]["tipping_event_id"]))
    if tipping is not None:
        j.latency(latency_of("breach (account.updated) -> trigger", [triggers[0].at - tipping.at]))
    gap = _gap_tick(log)
    if gap:
        j.latency(latency_of("gap price -> breaker trigger", [triggers[0].at - gap[0].at]))


SCENARIO = Scenario(
    number=6,
    slug="black-swan",
    title="Black swan",
    summary="a 20 % gap: flash-crash detector and breaker fire, global TRIPPED, new orders "
    "refused while closes pass, TRIPPED until an operator reset, then COOLING_DOWN, then ARMED",
    desk=Desk(accounts=ACCOUNTS, symbols=SYMBOLS, volatility=0.0002),
    drive=drive,
    judge=judge,
)
