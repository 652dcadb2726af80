"""A desk of its own for promotion tests: topics, a worker, consumers, readers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas.catalogue import MODEL_LOAD_FAILED, MODEL_LOADED, MODEL_PROMOTED, TopicSpec
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.cli.main import cli
from services.models.view import PromotionView, read_view
from services.monitor.service import Decision, MonitorConfig, PositionMonitor
from services.testing import Servers
from services.testing.desk import Desk

EXIT = "exit-model"


class PromotionDesk(Desk):
    def __init__(
        self, stack: Servers, serde: AvroSerde, producer: EventProducer, log: Path
    ) -> None:
        super().__init__(stack.kafka, serde, producer, prefix=f"mdl{uuid.uuid4().hex[:8]}.")
        self.stack, self.log = stack, log
        self.env = {
            **stack.environ(),
            "HFOS_TOPIC_PREFIX": self.names.prefix,
            "HFOS_MODEL_ACK_TIMEOUT_SECONDS": "30",
        }
        self.app_id = f"{self.names.prefix}streams"

    def cli(self, *args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, input=stdin)

    def view(self) -> PromotionView:
        return read_view({"bootstrap.servers": self.kafka}, self.serde, self.names)

    def wait_for(
        self, what: str, check: Callable[[PromotionView], bool], seconds: float = 60
    ) -> PromotionView:
        deadline = time.monotonic() + seconds
        while True:
            view = self.view()
            if check(view):
                return view
            if time.monotonic() > deadline:
                tail = self.log.read_text()[-3000:] if self.log.exists() else ""
                raise AssertionError(f"never: {what}; worker log:\n{tail}")
            time.sleep(0.2)

    def records(self, spec: TopicSpec, settle: float = 0.0) -> list[dict[str, Any]]:
        """Every record of ``spec``'s topic up to its end (then ``settle`` s more)."""
        target = contract(spec, self.names)
        consumer = Consumer(
            {
                "bootstrap.servers": self.kafka,
                "group.id": f"read-{uuid.uuid4().hex}",
                "enable.partition.eof": True,
                "enable.auto.commit": False,
            }
        )
        consumer.assign([TopicPartition(target.topic, 0, OFFSET_BEGINNING)])
        found: list[dict[str, Any]] = []
        at_end, quiet_until = False, time.monotonic() + 30
        try:
            while time.monotonic() < quiet_until:
                for message in consumer.consume(500, 0.2):
                    if message.error() is None:
                        found.append(self.serde.decode(target, message.value()))
                    elif not at_end:
                        at_end, quiet_until = True, time.monotonic() + settle
        finally:
            consumer.close()
        return found

    def promotions(self, settle: float = 0.0) -> list[dict[str, Any]]:
        return self.records(MODEL_PROMOTED, settle=settle)

    def acks(self) -> list[dict[str, Any]]:
        return self.records(MODEL_LOADED)

    def refusals(self) -> list[dict[str, Any]]:
        return self.records(MODEL_LOAD_FAILED)


def verdict(view: PromotionView, model: str, version: str, expected: str) -> bool:
    latest = view.latest.get(model)
    return (
        latest is not None
        and latest.version == version
        and view.judgement(model).verdict.value == expected
    )


def acked_by(view: PromotionView, model: str, consumers: int) -> bool:
    latest = view.latest.get(model)
    return latest is not None and len(view.responses_of(latest).acks) >= consumers


@contextmanager
def running_monitor(desk: Desk, **config: Any) -> Iterator[tuple[PositionMonitor, list[Decision]]]:
    """The position monitor in a thread; every decision it makes is collected."""
    decisions: list[Decision] = []
    monitor = PositionMonitor(
        {"bootstrap.servers": desk.kafka},
        desk.serde,
        MonitorConfig(desk.names, f"test-{uuid.uuid4().hex[:6]}", **config),
        on_decision=decisions.append,
    )
    stop = threading.Event()
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            monitor.run(stop.is_set)
        except BaseException as error:
            failure.append(error)
            raise

    thread = threading.Thread(target=loop, name="monitor", daemon=True)
    thread.start()
    try:
        yield monitor, decisions
    finally:
        stop.set()
        thread.join(30)
    if failure:
        raise AssertionError(f"the monitor died: {failure[0]!r}") from failure[0]


def start_monitor_process(desk: PromotionDesk, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``hfos monitor run`` as a child process (as deployed; a test can SIGKILL it)."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "monitor", "run", *args],
            env={**os.environ, **desk.env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
