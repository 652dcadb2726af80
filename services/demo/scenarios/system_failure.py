"""Scenario 5, system failure (SPEC §9): Redis is killed for 60 s and the broker is killed
and restarted mid-stream — no event lost or duplicated, policy reads keep working from the
fallback, the Redis cache is current within 1 s of Redis returning, and the supervisor's
recovery history shows the backoff.

Only on the local stack the demo controls (it SIGKILLs servers). Redis is SIGKILLed and
its port held 60 s, as a host that is down would be: the supervisor's restarts fail until
the port is free again, on the 1, 2, 4, 8, 16 s backoff. 15 s into that, the broker is
SIGKILLed; the supervisor starts it again. Signals stream all along; a reader outside the
stream app (this process, through ``PolicyStore``) reads the active policy every 20 ms.
"""

from __future__ import annotations

import time
from collections import Counter

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    MARKET_PRICE,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    SYSTEM_RECOVERY,
    TRADE_SIGNAL,
)
from services.demo import checks
from services.demo.events import Decision, EventLog
from services.demo.model import Event, Facts, Judgement, Moment, latency_of
from services.demo.plotdata import recovery_plot
from services.demo.scenarios.common import decided
from services.demo.script import Desk, Driver, Scenario, ScenarioAborted
from services.demo.timeline import moment, moments, note, ordered

ACCOUNTS = ("acc-1", "acc-2")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
REDIS_DOWN_SECONDS = 60.0
BROKER_KILL_AFTER_SECONDS = 15.0
CACHE_BOUND_MS = 1000
"""SPEC §2: the cache is resynchronised within 1 s of Redis returning."""
BACKOFF_S = (1, 2, 4, 8, 16)
JITTER = 0.10
SUPERVISOR_SECONDS = 120.0
"""Redis comes back on the attempt after its port is free (the 5th at the latest: 1 + 2 +
4 + 8 + 16 s of delays plus the failed attempts' 15 s windows); Kafka answers 16-31 s after
its restart here (README, supervisor measurements)."""
REDIS, KAFKA = "redis", "kafka"
CATCH_UP_SECONDS = 180.0
"""After a broker restart the executor's consumer group waits for the coordinator to load
its offsets and expire the member the broker lost (~30 s here), then decides the backlog.
When the broker died mid-transaction the executor's commit can hang inside librdkafka: its
watchdog ends it 65 s into the commit and the supervisor starts it again (~10 s). Three
minutes, then the verdict says which signals were never decided."""
EXACTLY_ONCE = (TRADE_SIGNAL, MARKET_PRICE, ORDER_REQUESTED, ORDER_REJECTED, ACCOUNT_UPDATED)
"""Topics written by idempotent or transactional producers: an event id twice is a bug."""


def _poll(d: Driver, what: str, holds: object, seconds: float, step: float) -> None:
    deadline = time.monotonic() + seconds
    while not holds():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise ScenarioAborted(f"{what} not within {seconds:g} s")
        d.sleep(step)


def _recovered(subsystem: str, outcomes: tuple[str, ...]) -> object:
    def holds(log: EventLog) -> bool:
        return any(
            e["subsystem"] == subsystem and e["outcome"] in outcomes
            for e in log.of(SYSTEM_RECOVERY.name)
        )

    return holds


def drive(d: Driver) -> None:
    chaos = d.chaos
    if chaos is None:  # the runner skips this scenario without the local stack
        raise ScenarioAborted("needs the local stack")
    d.step("signals stream; a PolicyStore reader reads every 20 ms")
    d.stream(ACCOUNTS, 0.40, 0.95)
    chaos.start_policy_reads(0.02)
    d.ticks(20)
    d.step("Redis SIGKILLed; its port held for 60 s")
    killed = d.mark("redis killed")
    chaos.kill_holding_port(REDIS)
    d.sleep(BROKER_KILL_AFTER_SECONDS)
    d.step("broker SIGKILLed mid-stream; the supervisor restarts it")
    d.mark("broker killed")
    chaos.kill(KAFKA)
    _poll(d, "the broker answering again", lambda: chaos.answers(KAFKA), SUPERVISOR_SECONDS, 0.05)
    d.mark("broker answers")
    d.step("Redis still down: waiting out its 60 s")
    d.sleep(max(0.0, killed / 1000 + REDIS_DOWN_SECONDS - time.time()))
    chaos.release_port(REDIS)
    d.mark("redis port released")
    d.step("Redis port free: the supervisor's next attempt starts it")
    _poll(d, "Redis answering again", lambda: chaos.answers(REDIS), SUPERVISOR_SECONDS, 0.005)
    back = d.mark("redis answers")
    _poll(d, "the policy cache current", chaos.cache_current, 5.0, 0.005)
    d.facts.measured["redis back -> cache current"] = d.mark("cache current") - back
    d.ticks(20)
    d.stop_stream()
    chaos.stop_policy_reads()
    d.step("waiting for the recovery history and the last decisions")
    d.wait_for("redis recovered in the history", _recovered(REDIS, ("ATTEMPT_SUCCEEDED",)), 60)  # type: ignore[arg-type]
    d.wait_for(
        "kafka recovered in the history",
        _recovered(KAFKA, ("ATTEMPT_SUCCEEDED", "RECOVERED")),  # type: ignore[arg-type]
        60,
    )
    d.step("waiting for the desk to decide every signal sent")
    d.wait_for("a decision for every signal sent", decided(*d.sent()), CATCH_UP_SECONDS)
    d.ticks(10)


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    decisions = log.decisions()
    by_signal = checks.decided_once(j, log, facts.sent)
    del by_signal
    _no_duplicates(j, log)
    checks.filled_once(j, log, decisions)
    _policy_reads(j, facts, _redis_restarted(log))
    resync = facts.measured.get("redis back -> cache current")
    j.check(
        resync is not None and resync <= CACHE_BOUND_MS,
        f"policy cache current {resync:.0f} ms after Redis answered" if resync is not None else "",
        f"policy cache current {resync} ms after Redis answered; the SPEC bound is "
        f"{CACHE_BOUND_MS} ms (cache resync)",
    )
    j.latency(
        None
        if resync is None
        else latency_of("Redis back -> cache current", [resync], CACHE_BOUND_MS)
    )
    history = log.of(SYSTEM_RECOVERY.name)
    _redis_history(j, [e for e in history if e["subsystem"] == REDIS], facts)
    _kafka_history(j, [e for e in history if e["subsystem"] == KAFKA])
    _outages(j, facts, decisions)
    j.timeline = ordered(
        [
            *(note(at, name) for name, at in facts.marks.items()),
            *moments(e for e in history if e["subsystem"] in (REDIS, KAFKA)),
            *moments(log.transitions()),
            *_refusals(decisions, facts),
        ]
    )
    j.plots.append(recovery_plot(log, facts.policy_reads, facts.marks))
    return j


def _no_duplicates(j: Judgement, log: EventLog) -> None:
    twice = {}
    for spec in EXACTLY_ONCE:
        counts = Counter(e.event_id for e in log.of(spec.name))
        repeated = sum(1 for n in counts.values() if n > 1)
        if repeated:
            twice[spec.name] = repeated
    total = sum(log.count(spec.name) for spec in EXACTLY_ONCE)
    j.check(
        not twice,
        f"no event id twice on {', '.join(s.name for s in EXACTLY_ONCE)} ({total} events)",
        f"duplicated event ids (exactly once): {twice}",
    )


def _redis_restarted(log: EventLog) -> int | None:
    """When the supervisor's successful Redis attempt started: Redis did not run before
    (its port was held), so no read before then can have come from it."""
    lines = [e for e in log.of(SYSTEM_RECOVERY.name) if e["subsystem"] == REDIS]
    won = {int(e["attempt"]) for e in lines if e["outcome"] == "ATTEMPT_SUCCEEDED"}
    started = [e.at for e in lines if e["outcome"] == "ATTEMPT_STARTED" and e["attempt"] in won]
    return min(started, default=None)


def _policy_reads(j: Judgement, facts: Facts, restarted: int | None) -> None:
    reads = facts.policy_reads
    failed = [r for r in reads if r.source is None]
    sources = Counter(r.source for r in reads if r.source)
    versions = [r.version for r in reads if r.version is not None]
    j.check(
        bool(reads) and not failed,
        f"{len(reads)} policy reads, none failed (from redis {sources.get('redis', 0)}, from the "
        f"topics' view {sources.get('view', 0)})",
        f"{len(failed)} of {len(reads)} policy reads failed (fallback to the topics), e.g. "
        f"{[r.error for r in failed[:2]]}",
    )
    j.check(
        versions == sorted(versions),
        "policy reads never went back a version",
        "a policy read went back a version",
    )
    # Until the restart began, not until the script saw Redis answer: the reader, every
    # 20 ms, can find it back a few ms before the script's 5 ms poll does.
    answers = facts.marks.get("redis answers", 0)
    down = facts.marks.get("redis killed", 0), min(answers, restarted or answers)
    during = [r for r in reads if down[0] + 1000 < r.at < down[1]]
    j.check(
        bool(during) and all(r.source == "view" for r in during),
        f"while Redis was down all {len(during)} reads came from the topics' view",
        "reads while Redis was down did not all come from the view: "
        f"{Counter(r.source for r in during)}",
    )


def _redis_history(j: Judgement, lines: list[Event], facts: Facts) -> None:
    outcomes = [str(e["outcome"]) for e in lines]
    scheduled = [e for e in lines if e["outcome"] == "ATTEMPT_SCHEDULED"]
    off = [
        f"attempt {e['attempt']} after {e['delay_ms']} ms"
        for e in scheduled
        if not _on_backoff(int(e["attempt"]), int(e["delay_ms"]))
    ]
    j.check(
        bool(lines) and outcomes[0] == "FAILURE_DETECTED" and "ATTEMPT_SUCCEEDED" in outcomes,
        f"redis history: detected, {len(scheduled)} attempts, succeeded",
        f"redis history incomplete (supervisor): {outcomes}",
    )
    delays = ", ".join(f"{e['delay_ms'] / 1000:.2f}" for e in scheduled)
    j.check(
        len(scheduled) >= 3 and not off,  # noqa: PLR2004 - 60 s spans attempts 1-4
        f"redis attempts waited {delays} s: 1, 2, 4, 8, 16 s + <= 10 % jitter",
        f"redis backoff wrong or too short (supervisor backoff): {off or delays}",
    )
    episodes = {int(e["episode"]) for e in lines}
    j.check(len(episodes) == 1, "one redis failure episode", f"redis episodes {episodes}")
    release = facts.marks.get("redis port released", 0)
    early = [e for e in lines if e["outcome"] == "ATTEMPT_SUCCEEDED" and e.at < release]
    j.check(
        not early,
        "no redis attempt succeeded while its port was held",
        "a redis attempt succeeded while its port was held (the history is wrong)",
    )


def _kafka_history(j: Judgement, lines: list[Event]) -> None:
    outcomes = [str(e["outcome"]) for e in lines]
    scheduled = [e for e in lines if e["outcome"] == "ATTEMPT_SCHEDULED"]
    j.check(
        bool(lines)
        and outcomes[0] == "FAILURE_DETECTED"
        and bool(scheduled)
        and all(_on_backoff(int(e["attempt"]), int(e["delay_ms"])) for e in scheduled)
        and ("ATTEMPT_SUCCEEDED" in outcomes or "RECOVERED" in outcomes),
        f"kafka history: {' -> '.join(outcomes)}",
        f"kafka history wrong or incomplete (supervisor): {outcomes}",
    )


def _on_backoff(attempt: int, delay_ms: int) -> bool:
    if not 1 <= attempt <= len(BACKOFF_S):
        return False
    base = BACKOFF_S[attempt - 1] * 1000
    return base <= delay_ms <= base * (1 + JITTER)


def _outages(j: Judgement, facts: Facts, decisions: list[Decision]) -> None:
    marks = facts.marks
    for name, start, end in (
        ("Redis down (killed -> answering)", "redis killed", "redis answers"),
        ("broker down (killed -> answering)", "broker killed", "broker answers"),
    ):
        if start in marks and end in marks:
            j.latency(latency_of(name, [marks[end] - marks[start]]))
    j.latency(checks.signal_to_decision(decisions))


def _refusals(decisions: list[Decision], facts: Facts) -> list[Moment]:
    """From the broker's kill on: the first decision of each outcome (what the desk did
    with the signals held up by the outage, and when it traded again)."""
    since = facts.marks.get("broker killed", 0)
    lines = []
    seen: set[str] = set()
    for d in decisions:
        if d.at >= since and d.outcome not in seen:
            seen.add(d.outcome)
            lines.append(moment(d.event))
    return lines


SCENARIO = Scenario(
    number=5,
    slug="system-failure",
    title="System failure",
    summary="Redis killed for 60 s and the broker SIGKILLed and restarted mid-stream: every "
    "event exactly once, policy reads never fail, cache current within 1 s, backoff in the "
    "recovery history",
    desk=Desk(accounts=ACCOUNTS, symbols=SYMBOLS, tick_seconds=0.1),
    drive=drive,
    judge=judge,
    needs_local_stack=True,
)
