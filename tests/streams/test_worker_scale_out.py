"""Several stream workers of one app over the 12 account partitions (issue 18): a worker
added mid-stream and a worker SIGKILLed mid-stream move partitions and tables between
them, and still every breaching account trips exactly once, no peak goes back, and the
single-partition owners (ESS, policy) keep answering from whichever worker holds them."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.catalogue import (
    ACCOUNT_PARTITIONS,
    ACCOUNT_UPDATED,
    CIRCUIT_BREAKER_TRIGGERED,
    TopicNames,
)
from schemas.contracts import contract
from schemas.keys import streams_app_id
from schemas.serde import AvroSerde
from services.breaker.view import changelog_topic
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.cli import run_cli
from services.testing.kafka import read_topic
from services.testing.storm import Plan, WorkerFleet, lag, storm_plan
from services.testing.venue import VenueBook, wall_clock
from streams.drawdown.codec import decode_state

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


class Fleet:
    """A deployment of its own, its workers, and the venue streaming a plan into it."""

    def __init__(
        self, stack: Servers, serde: AvroSerde, producer: EventProducer, log: Path
    ) -> None:
        self.stack, self.serde, self.producer = stack, serde, producer
        self.names = TopicNames(f"scale{uuid.uuid4().hex[:6]}.")
        self.kafka = {"bootstrap.servers": stack.kafka}
        provision(AdminClient(self.kafka), self.names.specs())
        self.env = {**stack.environ(), "HFOS_TOPIC_PREFIX": self.names.prefix}
        self.workers = WorkerFleet(self.env, streams_app_id(self.names.prefix), log)
        self.venue = VenueBook(clock=wall_clock())
        self.accounts = contract(ACCOUNT_UPDATED, self.names)

    def wait_policy(self) -> None:
        view = PolicyView(self.kafka, self.names, self.serde)
        try:
            deadline = time.monotonic() + 90
            while view.state().active() is None:
                assert time.monotonic() < deadline, "no policy seeded in 90 s"
                time.sleep(0.1)
        finally:
            view.close()

    def stream(self, plan: Plan, seconds: float) -> threading.Thread:
        def run() -> None:
            started, total = time.monotonic(), len(plan.updates)
            for index, (account, wallet) in enumerate(plan.updates):
                [(_, _, snapshot), *_] = self.venue.balance(account, wallet)
                self.producer.send(self.accounts, account, snapshot)
                if index % 500 == 0:
                    self.producer.poll(0)
                    ahead = started + seconds * index / total - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            assert self.producer.flush(60) == 0

        thread = threading.Thread(target=run, name="venue")
        thread.start()
        return thread

    def caught_up(self, within: float) -> None:
        deadline = time.monotonic() + within
        group = self.workers.app_id
        while lag(self.kafka, group, self.accounts.topic, ACCOUNT_PARTITIONS) > 0:
            assert time.monotonic() < deadline, f"input not consumed within {within:.0f} s"
            time.sleep(0.5)

    def triggers(self) -> list[dict[str, Any]]:
        target = contract(CIRCUIT_BREAKER_TRIGGERED, self.names)
        raw = read_topic(self.kafka, target.topic, 1, timeout=5, settle=2.0)
        return [self.serde.decode(target, r.value) for r in raw]

    def peaks_in_changelog_order(self) -> dict[str, list[float]]:
        """Every account's peak as each of its changelog records (in order) holds it."""
        topic = changelog_topic(self.workers.app_id)
        consumer = Consumer(
            {**self.kafka, "group.id": uuid.uuid4().hex, "enable.partition.eof": True}
        )
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(ACCOUNT_PARTITIONS)]
        )
        peaks: dict[str, list[float]] = {}
        at_end: set[int] = set()
        try:
            while len(at_end) < ACCOUNT_PARTITIONS:
                for message in consumer.consume(1000, 1.0):
                    if message.error() is not None:
                        if message.error().code() == KafkaError._PARTITION_EOF:
                            at_end.add(int(message.partition() or 0))
                        continue
                    if message.value() is None:
                        continue
                    state = decode_state(message.value())
                    if state.peak_equity is not None:
                        peaks.setdefault(state.account_id, []).append(state.peak_equity)
        finally:
            consumer.close()
        return peaks

    def owners_answer(self) -> None:
        """A policy write and an ESS command, each answered by the worker that now holds
        the single-partition owner."""
        policy = run_cli(
            ["policy", "set", "normal", "max_open_positions=29", "--by", "t", "--reason", "t"],
            self.env,
        )
        assert policy.exit_code == 0, policy.output
        ess = run_cli(
            ["ess", "trip", "--scope", "symbol:SCALEUSDT", "--by", "t", "--reason", "drill"],
            self.env,
        )
        assert ess.exit_code == 0, ess.output


@pytest.fixture
def fleet(
    stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path
) -> Iterator[Fleet]:
    built = Fleet(stack, serde, producer, tmp_path / "workers.log")
    yield built
    built.workers.stop_all()


def _assert_exact_trips_and_rising_peaks(fleet: Fleet, plan: Plan) -> None:
    triggers = fleet.triggers()
    assert {t["account_id"] for t in triggers} == plan.breaching
    assert len({t["envelope"]["event_id"] for t in triggers}) == len(plan.breaching)
    assert {t["episode"] for t in triggers} == {1}
    falling = {
        account: peaks
        for account, peaks in fleet.peaks_in_changelog_order().items()
        if any(later < earlier for earlier, later in itertools.pairwise(peaks))
    }
    assert falling == {}
    assert fleet.workers.stalled_exits() == 0
    assert fleet.workers.unexpected_exits() == []


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_when_one_is_added_mid_stream_then_trips_exact_peaks_rise_owners_answer(
    fleet: Fleet, workers: int
) -> None:
    plan = storm_plan(seed=18, accounts=120, events=12_000, breaching=12)
    for index in range(workers - 1):
        fleet.workers.start(f"worker-{index}")
    fleet.wait_policy()
    venue = fleet.stream(plan, seconds=20.0)
    time.sleep(8.0)
    fleet.workers.start(f"worker-{workers - 1}")  # the rebalance happens mid-stream
    venue.join(60)
    fleet.caught_up(within=90)
    fleet.owners_answer()

    _assert_exact_trips_and_rising_peaks(fleet, plan)


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_when_one_is_sigkilled_mid_stream_then_survivors_take_over_exactly(
    fleet: Fleet, workers: int
) -> None:
    plan = storm_plan(seed=81, accounts=120, events=12_000, breaching=12)
    started = [fleet.workers.start(f"worker-{index}") for index in range(workers)]
    fleet.wait_policy()
    venue = fleet.stream(plan, seconds=20.0)
    time.sleep(8.0)
    # The first worker is the group's leader and, with most assignments, holds the
    # single-partition owners: killing it moves them to a survivor.
    fleet.workers.kill(started[0])
    venue.join(60)
    fleet.caught_up(within=90)
    fleet.owners_answer()

    _assert_exact_trips_and_rising_peaks(fleet, plan)
