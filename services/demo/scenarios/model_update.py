"""Scenario 7, model update (SPEC §9): a model is promoted while signals flow; every
consumer acknowledges; no decision mixes versions; a second promotion with a wrong digest
is refused and rolled back.

Two accounts stream signals naming ``sim-model`` v1. The operator builds v2
(``hfos model build``) and promotes it (``hfos model promote``); the signal source moves
to v2 as soon as the command returns, so a few v2 signals reach the executor before it has
loaded v2 (refused UNKNOWN_MODEL_VERSION: it never decides with a model it has not
loaded). Every consumer registered for the model (its heartbeats name it) must answer
``model.loaded`` v2. Then v3 with a wrong digest: ``hfos model promote`` refuses it before
publishing anything; published past the CLI (``hfos topics produce``), every consumer
refuses it on ``model.load_failed`` (DIGEST_MISMATCH, v2 kept) and the worker's
coordinator rolls it back to v2 on ``model.promoted``.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable

from schemas.catalogue import MODEL_LOAD_FAILED, MODEL_LOADED, MODEL_PROMOTED, SYSTEM_HEARTBEAT
from schemas.values import iso_millis
from services.demo import checks
from services.demo.events import ACCEPTED, Decision, EventLog
from services.demo.feed import MODEL
from services.demo.model import Event, Facts, Judgement, Marker, latency_of
from services.demo.plotdata import model_plot
from services.demo.scenarios.common import OPERATOR, expect_outcomes, labelled, send_and_settle
from services.demo.script import Desk, Driver, Scenario, ScenarioAborted, calm_volatility
from services.demo.timeline import moments, ordered

ACCOUNTS = ("acc-1", "acc-2")
STREAMED = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
FRESH = ("BNBUSDT", "XRPUSDT")
"""Symbols the stream never touches: the BUYs under v2 find no 5-minute re-entry pause."""
SYMBOLS = STREAMED + FRESH
GOOD, BAD = "2", "3"
UNKNOWN = "UNKNOWN_MODEL_VERSION"
ACK_SECONDS = 45.0
"""The coordinator's deadline is 30 s (SPEC §6); a load takes well under a second here."""
EXECUTOR = "hfos-executor"


def drive(d: Driver) -> None:
    d.step("signals stream under sim-model v1")
    d.stream(ACCOUNTS, 0.55, 0.95, symbols=STREAMED)
    d.ticks(20)
    d.step("hfos model build sim-model v2")
    artifact = d.workdir / f"{MODEL}-{GOOD}.onnx"
    built = json.loads(
        d.hfos(
            "model", "build", MODEL, "--version", GOOD, "--out", str(artifact), "--json"
        ).output.splitlines()[-1]
    )
    d.step("hfos model promote sim-model v2 while signals flow")
    d.mark("promote v2")
    d.hfos(
        *("model", "promote", MODEL, "--version", GOOD, "--uri", built["uri"]),
        *("--sha256", built["sha256"], "--metric", "accuracy=0.9", *OPERATOR),
        *("--reason", "retrained on last week"),
    )
    d.model_version(GOOD)  # the signal source moves over at once: some come too early
    d.wait_for("every registered consumer loaded v2", acknowledged(GOOD), ACK_SECONDS)
    d.step("BUYs under v2")
    send_and_settle(
        d,
        *(
            (account, symbol, "BUY", 0.9, f"{account} BUY {symbol} (v{GOOD})")
            for account, symbol in zip(ACCOUNTS, FRESH, strict=True)
        ),
    )
    d.step("v3 with a wrong digest: hfos model promote refuses it")
    wrong = "0" * 64
    d.hfos(
        *("model", "promote", MODEL, "--version", BAD, "--uri", built["uri"]),
        *("--sha256", wrong, *OPERATOR, "--reason", "wrong digest"),
        expect=1,
    )
    d.step("v3 with a wrong digest published past the CLI: refused, rolled back")
    d.mark("promote v3 past the CLI")
    d.hfos(
        "topics",
        "produce",
        d.topic(MODEL_PROMOTED.name),
        stdin=_past_the_cli(d, built, wrong) + "\n",
    )
    d.wait_for("v3 rolled back to v2", rolled_back(BAD), ACK_SECONDS)
    d.ticks(20)
    d.stop_stream()
    d.ticks(4)


def _past_the_cli(d: Driver, built: dict[str, str], wrong: str) -> str:
    """A ``model.promoted`` of v3 naming v2's artifact with a wrong sha256, as JSON."""
    previous = next(
        (e for e in reversed(d.log.of(MODEL_PROMOTED.name)) if e["version"] == GOOD), None
    )
    if previous is None:
        raise ScenarioAborted("v2's promotion is not on model.promoted")
    value = {
        "envelope": {
            "event_id": str(uuid.uuid4()),
            "event_time": iso_millis(int(time.time() * 1000)),
            "producer": "demo-operator",
            "correlation_id": None,
            "causation_id": None,
        },
        "model_name": MODEL,
        "version": BAD,
        "artifact_uri": built["uri"],
        "sha256": wrong,
        "format": "ONNX",
        "metrics": {},
        "promoted_by": "demo-operator",
        "previous_version": GOOD,
        "rollback_of": None,
        "previous_artifact_uri": previous["artifact_uri"],
        "previous_sha256": previous["sha256"],
        "previous_format": "ONNX",
        "reason": "a wrong digest, past the CLI",
    }
    return json.dumps({"key": MODEL, "value": value})


def registered(log: EventLog) -> set[tuple[str, str]]:
    """(service, instance) of every consumer whose heartbeats name the model."""
    return {
        (str(e["service"]), str(e["instance"]))
        for e in log.of(SYSTEM_HEARTBEAT.name)
        if MODEL in (e.get("models") or ())
    }


def promotion(log: EventLog, version: str, rollback: bool = False) -> Event | None:
    return next(
        (
            e
            for e in log.of(MODEL_PROMOTED.name)
            if e["model_name"] == MODEL
            and (e["rollback_of"] == version if rollback else e["version"] == version)
        ),
        None,
    )


def _answers(log: EventLog, topic: str, promoted: Event) -> dict[tuple[str, str], Event]:
    return {
        (str(e["service"]), str(e["instance"])): e
        for e in log.of(topic)
        if e["envelope"]["causation_id"] == promoted.event_id
    }


def acknowledged(version: str) -> Callable[[EventLog], bool]:
    def holds(log: EventLog) -> bool:
        promoted = promotion(log, version)
        consumers = registered(log)
        if promoted is None or not consumers:
            return False
        return consumers <= set(_answers(log, MODEL_LOADED.name, promoted))

    return holds


def rolled_back(version: str) -> Callable[[EventLog], bool]:
    return lambda log: promotion(log, version, rollback=True) is not None


def judge(log: EventLog, facts: Facts) -> Judgement:
    j = Judgement()
    checks.decided_once(j, log, facts.sent)
    decisions = [d for d in log.decisions() if d.event.get("model_name") == MODEL]
    consumers = registered(log)
    j.check(
        bool(consumers),
        f"{len(consumers)} consumers registered for {MODEL}: "
        f"{', '.join(sorted(s for s, _ in consumers))}",
        f"no consumer's heartbeat names {MODEL} (model registration)",
    )
    good = promotion(log, GOOD)
    _acknowledged(j, log, good, consumers)
    by_signal = {d.signal_id: d for d in decisions}
    expect_outcomes(j, facts, by_signal, dict.fromkeys(_v2_labels(), ACCEPTED))
    under = [
        by_signal[s] for s in (facts.labels.get(k, "") for k in _v2_labels()) if s in by_signal
    ]
    j.check(
        bool(under) and all(d.event.get("model_version") == GOOD for d in under),
        f"the BUYs after the acknowledgement were decided under v{GOOD}",
        f"BUYs after v{GOOD}'s acknowledgement decided under "
        f"{[d.event.get('model_version') for d in under]} (signal source or executor)",
    )
    _versions(j, log, decisions, good)
    _refused(j, log, facts, consumers)
    j.latency(checks.signal_to_decision(log.decisions()))
    j.timeline = ordered(
        [
            *moments(log.of(MODEL_PROMOTED.name)),
            *moments(log.of(MODEL_LOADED.name)),
            *moments(log.of(MODEL_LOAD_FAILED.name)),
            *moments(_switch_points(decisions)),
            *labelled(facts, {d.signal_id: d for d in decisions}),
        ]
    )
    j.plots.append(
        model_plot(decisions, MODEL, ("1", GOOD, BAD), _model_markers(log, facts.started))
    )
    return j


def _acknowledged(
    j: Judgement, log: EventLog, good: Event | None, consumers: set[tuple[str, str]]
) -> None:
    if good is None:
        j.failures.append(f"no model.promoted {MODEL} v{GOOD} (hfos model promote)")
        return
    acks = _answers(log, MODEL_LOADED.name, good)
    missing = sorted(consumers - set(acks))
    j.check(
        bool(consumers) and not missing,
        f"v{GOOD} acknowledged on model.loaded by every registered consumer ({len(acks)})",
        f"v{GOOD} not acknowledged by {missing} (model consumers)",
    )
    if acks:
        j.latency(
            latency_of(
                f"promotion v{GOOD} -> all acks", [max(a.at for a in acks.values()) - good.at]
            )
        )
    rollback = promotion(log, GOOD, rollback=True)
    j.check(
        rollback is None,
        f"v{GOOD} was not rolled back",
        f"v{GOOD} was rolled back: {rollback['reason'] if rollback else ''} (coordinator)",
    )


def _versions(j: Judgement, log: EventLog, decisions: list[Decision], good: Event | None) -> None:
    """Each decision names one model version, one the executor had loaded when it decided;
    per account the versions go 1...1 2...2; v2 signals are refused UNKNOWN_MODEL_VERSION
    only until the executor loaded v2."""
    loaded = sorted(
        (e.at, str(e["version"]))
        for e in log.of(MODEL_LOADED.name)
        if e["model_name"] == MODEL and e["service"] == EXECUTOR
    )
    unloaded = [
        d.describe()
        for d in decisions
        if d.accepted and d.event.get("model_version") not in {v for at, v in loaded if at <= d.at}
    ]
    j.check(
        bool(decisions) and not unloaded,
        f"each of the {sum(d.accepted for d in decisions)} accepted orders names a version "
        "the executor had loaded",
        f"orders decided with a model version the executor had not loaded: {unloaded[:2]}",
    )
    mixed = []
    for account in ACCOUNTS:
        versions = [str(d.event.get("model_version")) for d in decisions if d.account == account]
        runs = [v for v, _ in itertools.groupby(versions)]
        if runs != sorted(runs) or len(runs) > 2:  # noqa: PLR2004 - v1 then v2
            mixed.append(f"{account}: {' -> '.join(runs)}")
    j.check(
        not mixed,
        "no decision mixes versions: per account v1 ... v1, then v2 ... v2",
        f"decisions mix model versions (one switch point per account): {mixed}",
    )
    executor_v2 = next((at for at, v in loaded if v == GOOD), None)
    late = [d.describe() for d in decisions if d.outcome == UNKNOWN and (executor_v2 or 0) < d.at]
    early = [d for d in decisions if d.outcome == UNKNOWN]
    j.check(
        good is not None and executor_v2 is not None and not late,
        f"{len(early)} v{GOOD} signals refused {UNKNOWN} before the executor loaded v{GOOD}, "
        "none after",
        f"signals refused {UNKNOWN} after the executor loaded v{GOOD}: {late[:2]} (executor)",
    )
    third = [d.describe() for d in decisions if d.event.get("model_version") == BAD]
    j.check(not third, f"no decision names v{BAD}", f"decisions under v{BAD}: {third[:2]}")


def _refused(j: Judgement, log: EventLog, facts: Facts, consumers: set[tuple[str, str]]) -> None:
    cli = [run for run in facts.operator if "promote" in run.argv and BAD in run.argv]
    published = [
        e
        for e in log.of(MODEL_PROMOTED.name)
        if e["version"] == BAD and e["envelope"]["producer"] != "demo-operator"
    ]
    j.check(
        bool(cli) and cli[0].exit_code != 0 and not published,
        f"hfos model promote refused v{BAD} before publishing: {_last_line(cli)}",
        f"hfos model promote did not refuse v{BAD}'s wrong digest: {_last_line(cli)}",
    )
    bad = promotion(log, BAD)
    if bad is None:
        j.failures.append(f"v{BAD} never reached model.promoted past the CLI")
        return
    refusals = _answers(log, MODEL_LOAD_FAILED.name, bad)
    wrong = {k: e for k, e in refusals.items() if e["error"] == "DIGEST_MISMATCH"}
    loaded = _answers(log, MODEL_LOADED.name, bad)
    j.check(
        bool(consumers) and consumers <= set(wrong) and not loaded,
        f"v{BAD} refused by every consumer on model.load_failed (DIGEST_MISMATCH, kept "
        f"{sorted({str(e['kept_version']) for e in wrong.values()})})",
        f"v{BAD}: refused by {sorted(wrong)}, loaded by {sorted(loaded)}, of {sorted(consumers)}"
        " (digest check)",
    )
    rollbacks = [
        e for e in log.of(MODEL_PROMOTED.name) if e["model_name"] == MODEL and e["rollback_of"]
    ]
    j.check(
        len(rollbacks) == 1
        and rollbacks[0]["rollback_of"] == BAD
        and rollbacks[0]["version"] == GOOD,
        f"one rollback: v{BAD} -> v{GOOD} ({rollbacks[0]['reason'] if rollbacks else ''})",
        f"rollbacks {[(e['rollback_of'], e['version']) for e in rollbacks]}; expected one, "
        f"v{BAD} -> v{GOOD} (coordinator)",
    )
    if rollbacks:
        j.latency(latency_of(f"wrong v{BAD} published -> rollback", [rollbacks[0].at - bad.at]))


def _v2_labels() -> list[str]:
    return [f"{a} BUY {s} (v{GOOD})" for a, s in zip(ACCOUNTS, FRESH, strict=True)]


def _model_markers(log: EventLog, since: int) -> list[Marker]:
    return [
        Marker(
            e.at,
            f"rollback v{e['rollback_of']} -> v{e['version']}"
            if e["rollback_of"]
            else f"promoted v{e['version']}",
        )
        for e in log.of(MODEL_PROMOTED.name)
        if e["model_name"] == MODEL and e.at >= since
    ]


def _last_line(runs: list) -> str:  # type: ignore[type-arg]
    return runs[0].output.splitlines()[-1] if runs and runs[0].output else "not run"


def _switch_points(decisions: list[Decision]) -> list[Event]:
    """Per account, the last decision under one version and the first under the next."""
    lines = []
    for account in ACCOUNTS:
        mine = [d for d in decisions if d.account == account]
        for a, b in itertools.pairwise(mine):
            if a.event.get("model_version") != b.event.get("model_version"):
                lines += [a.event, b.event]
    return lines


SCENARIO = Scenario(
    number=7,
    slug="model-update",
    title="Model update",
    summary="a promotion while signals flow: every consumer acknowledges, no decision mixes "
    "versions; a promotion with a wrong digest is refused and rolled back",
    desk=Desk(
        accounts=ACCOUNTS,
        symbols=SYMBOLS,
        tick_seconds=0.05,
        volatility=calm_volatility(0.05),
    ),
    drive=drive,
    judge=judge,
    requires=("monitor",),
)
