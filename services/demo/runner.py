"""Running one scenario end to end: fresh topics under its own prefix, the simulator's
model promoted, the desk started, the script driven, the desk stopped, every topic read
back from the beginning and the judge's verdict on what was read.

The verdict never comes from the run's own counters: the runner hands the judge the
events read back after the desk stopped, and the facts of what the script did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

from schemas.catalogue import MARKET_PRICE, POLICY_ACTIVATED, STRATEGY_SWITCHED, TopicNames
from schemas.catalogue import topic as catalogue
from schemas.serde import AvroSerde
from services.bus.cleanup import delete_topics, topics_under_prefix
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer
from services.bus.topics import Outcome, TopicMismatchError, provision
from services.demo.chaos import LocalChaos
from services.demo.desk import RunningDesk, available_parts, desk_parts, supervised
from services.demo.driver import LiveDriver, now_ms
from services.demo.events import EventLog
from services.demo.exceptions import DemoError
from services.demo.feed import MODEL, MODEL_VERSION, Feed
from services.demo.model import Facts, Judgement, Moment
from services.demo.reader import LiveReader, read_back
from services.demo.record import RECORD, write_record
from services.demo.script import Scenario, ScenarioAborted
from services.localstack.stack import LocalStack
from services.settings import Settings
from services.up.plan import EXIT_MODEL
from services.up.promote import ensure_promoted

FLUSH_SECONDS = 30.0


@dataclass
class Environment:
    """What every scenario of one demo run shares."""

    settings: Settings
    serde: AvroSerde
    local: bool
    report_dir: Path
    run_id: str = field(default_factory=lambda: time.strftime("%Y%m%dT%H%M%S", time.gmtime()))
    keep_topics: bool = False
    record: bool = False
    """Write each scenario's events and facts beside its logs (services.demo.record)."""
    commands: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Test seam: part name -> the command that starts it instead of ``hfos``."""

    @property
    def models_dir(self) -> Path:
        return self.report_dir / "models"

    @property
    def kafka(self) -> dict[str, str]:
        return self.settings.kafka_client_config()

    def prefix(self, scenario: Scenario) -> str:
        return f"demo{self.run_id}-{scenario.number}-{scenario.slug}."


@dataclass
class Result:
    scenario: Scenario
    judgement: Judgement
    facts: Facts
    prefix: str
    seconds: float
    log_dir: Path
    desk_ready_seconds: float | None = None
    events: int = 0
    undecodable: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def missing_parts(scenario: Scenario) -> list[str]:
    have = available_parts()
    return [part for part in scenario.requires if part not in have]


def skipped(env: Environment, scenario: Scenario, why: str) -> Result:
    return Result(
        scenario, Judgement(skipped=why), Facts(), env.prefix(scenario), 0.0, env.report_dir
    )


def run_scenario(
    env: Environment, scenario: Scenario, on_step: Progress, live: Callable[[EventLog | None], None]
) -> Result:
    """Run ``scenario``; ``on_step`` hears each step's name, ``live`` gets the live log."""
    missing = missing_parts(scenario)
    if missing:
        return skipped(env, scenario, f"needs {', '.join(missing)} (issue 14), not in this build")
    if scenario.needs_local_stack and not env.local:
        return skipped(
            env,
            scenario,
            "runs only on the local stack: it SIGKILLs Kafka and Redis, which it may not do "
            "to servers it does not control (KAFKA_BOOTSTRAP_SERVERS is set)",
        )
    started = time.monotonic()
    names = TopicNames(env.prefix(scenario))
    log_dir = env.report_dir / f"{scenario.number}-{scenario.slug}"
    log_dir.mkdir(parents=True, exist_ok=True)
    admin = AdminClient(dict(env.kafka), logger=LIBRDKAFKA_LOG)
    _provision(admin, names)
    facts = Facts(parts=tuple(p.name for p in desk_parts(("probe",), ("PROBE",))))
    aborted, ready = _drive(env, scenario, names, log_dir, facts, on_step, live)
    on_step("reading every topic back")
    log = read_back(env.kafka, env.serde, names)
    if env.record:
        write_record(log_dir / RECORD, log, facts)
    judgement = scenario.judge(log, facts)
    if aborted is not None:
        judgement.failures.insert(0, f"the script stopped: {aborted}")
    judgement.timeline = sorted(
        [*judgement.timeline, *_operator_lines(facts)], key=lambda line: line.at
    )
    if not env.keep_topics:
        delete_topics(admin, topics_under_prefix(admin, names.prefix))
    events = sum(log.count(name) for name in _every_topic())
    return Result(
        scenario,
        judgement,
        facts,
        names.prefix,
        time.monotonic() - started,
        log_dir,
        ready,
        events,
        log.undecodable,
    )


def _drive(
    env: Environment,
    scenario: Scenario,
    names: TopicNames,
    log_dir: Path,
    facts: Facts,
    on_step: Progress,
    live: Callable[[EventLog | None], None],
) -> tuple[str | None, float | None]:
    """Start the desk, drive the script, stop everything; the reason the script stopped
    early (None: it ran to its end) and the desk's start-up seconds."""
    desk_spec = scenario.desk
    environ = {**os.environ, "HFOS_TOPIC_PREFIX": names.prefix, "PYTHONUNBUFFERED": "1"}
    producer = EventProducer(env.kafka, env.serde, service="hfos-simulator")
    for model, version in ((MODEL, MODEL_VERSION), (EXIT_MODEL, "1")):
        # Real ONNX artifacts, as hfos up serves (the executor refuses a signal whose model
        # it has not loaded); built once per run, reproducibly, beside the report.
        ensure_promoted(env.kafka, env.serde, names, producer, model, version, env.models_dir)
    desk = RunningDesk(
        desk_parts(desk_spec.accounts, desk_spec.symbols),
        environ,
        log_dir,
        supervised(env.settings, env.serde, names, env.local),
        env.commands,
    )
    feed = Feed(
        producer,
        names,
        desk_spec.symbols,
        desk_spec.volatility,
        desk_spec.seed,
        desk_spec.tick_seconds,
        uuid.uuid4().hex,
    )
    reader: LiveReader | None = None
    chaos: LocalChaos | None = None
    aborted: str | None = None
    ready: float | None = None
    try:
        on_step("starting the desk")
        ready = desk.start(env.kafka, env.serde, names)
        reader = LiveReader(env.kafka, env.serde, names)
        live(reader.log)
        if scenario.needs_local_stack:
            chaos = LocalChaos(
                LocalStack(),
                env.kafka,
                env.settings.redis_url.get_secret_value(),
                names,
                env.serde,
                facts,
            )
        facts.started = now_ms()
        feed.start()
        driver = LiveDriver(
            feed, reader.log, facts, {"HFOS_TOPIC_PREFIX": names.prefix}, chaos, on_step, log_dir
        )
        _market_open(driver, desk_spec.symbols)
        scenario.drive(driver)
    except ScenarioAborted as stopped:
        aborted = str(stopped)
    except DemoError as error:
        aborted = str(error)
    finally:
        on_step("stopping the desk")
        feed.stop()
        producer.flush(FLUSH_SECONDS)
        facts.sent = list(feed.signals.sent)
        live(None)
        if chaos is not None:
            chaos.close()
        if reader is not None:
            reader.close()
        desk.stop()
        if scenario.needs_local_stack:
            with contextlib.suppress(DemoError):
                LocalStack().up()  # whatever the scenario killed runs again for the next one
    return aborted, ready


OPEN_SECONDS = 30.0
"""How long the first prices may take to be readable (milliseconds normally)."""


def _market_open(driver: LiveDriver, symbols: Sequence[str]) -> None:
    """The script trades once a price of every symbol is readable on ``market.price``.
    Kafka keeps no order between topics: the first tick's price and a signal sent with it
    can reach the executor in either order, and a signal before any price is refused
    NO_MARKET_PRICE (fail closed) -- a start-up race, not what a scenario is about."""
    driver.step("market open: waiting for a price of every symbol")

    def priced(log: EventLog) -> bool:
        return set(symbols) <= {str(e["symbol"]) for e in log.of(MARKET_PRICE.name)}

    driver.wait_for("a price of every symbol on market.price", priced, OPEN_SECONDS)


LOGGED_TOPICS = (STRATEGY_SWITCHED.name, POLICY_ACTIVATED.name)
"""Control topics whose records the broker stamps with its append time (LogAppendTime):
the moment a switch became readable is what its propagation is measured from. Readers
of these topics use offsets, never record timestamps, so nothing else changes."""


def _provision(admin: AdminClient, names: TopicNames) -> None:
    specs = [
        dataclasses.replace(
            spec, overrides=(*spec.overrides, ("message.timestamp.type", "LogAppendTime"))
        )
        if spec.name in {names.name(catalogue(t)) for t in LOGGED_TOPICS}
        else spec
        for spec in names.specs()
    ]
    reports = provision(admin, specs)
    mismatched = [r for r in reports if r.outcome is Outcome.MISMATCHED]
    if mismatched:
        raise TopicMismatchError(mismatched)


def _operator_lines(facts: Facts) -> list[Moment]:
    return [
        Moment(
            run.started,
            "(operator)",
            f"$ {' '.join(_quoted(run.argv))} -> exit {run.exit_code}: "
            f"{run.output.splitlines()[-1] if run.output else ''}",
        )
        for run in facts.operator
    ]


def _quoted(argv: Sequence[str]) -> list[str]:
    return [f"'{a}'" if " " in a else a for a in argv]


def _every_topic() -> list[str]:
    from schemas.catalogue import TOPICS  # noqa: PLC0415 - one list, read once per result

    return [spec.name for spec in TOPICS]
