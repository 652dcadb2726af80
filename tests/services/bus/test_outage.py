"""A broker outage loses and duplicates nothing while the producing process lives, and a
consume-produce transaction loop resumes as soon as the broker is back."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.catalogue import POSITION_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.serde import AvroSerde
from services.bus.clients import LONG_LIVED
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.bus.transactions import TransactionalProducer, next_offsets
from services.testing import Servers
from services.testing.kafka import read_topic

pytestmark = [pytest.mark.stack, pytest.mark.localstack]

EVENTS = 100_000
OUTAGE_SECONDS = 30.0
RESUME_SECONDS = 20.0
"""A transaction loop commits again within this long of the restarted broker answering
(measured 2-8 s: librdkafka's reconnect backoff and the coordinators loading)."""


@pytest.mark.timeout(600)
def test_send_when_broker_sigkilled_for_30s_then_every_event_arrives_exactly_once(
    local_stack: Servers, serde: AvroSerde
) -> None:
    stack = local_stack.local
    assert stack is not None
    names = TopicNames(f"o{uuid.uuid4().hex[:8]}.")
    provision(
        AdminClient({"bootstrap.servers": local_stack.kafka}),
        [replace(POSITION_UPDATED, name=names.name(POSITION_UPDATED))],
    )
    positions = contract(POSITION_UPDATED, names)
    template = example_record("hfos.PositionUpdated")
    # The buffer holds the whole run, so the sender keeps going through the outage and
    # back-pressure never has to fail it; block_seconds covers the restart if it did.
    producer = EventProducer(
        {"bootstrap.servers": local_stack.kafka}, serde, buffer_messages=EVENTS, block_seconds=120
    )
    sent_ids: list[str] = []
    started = threading.Event()

    def send_all() -> None:
        for i in range(EVENTS):
            event_id = str(uuid.uuid4())
            record = {
                **template,
                "account_id": f"acc-{i % 50}",
                "envelope": {**template["envelope"], "event_id": event_id},
            }
            producer.send(positions, record["account_id"], record)
            sent_ids.append(event_id)
            if i == EVENTS // 5:
                started.set()
            if i % 1000 == 0:
                time.sleep(0.01)  # spread the run over the outage instead of one burst

    sender = threading.Thread(target=send_all)
    sender.start()
    assert started.wait(60)
    stack.kill("kafka")
    killed_at = time.monotonic()
    time.sleep(OUTAGE_SECONDS)
    stack.start("kafka")
    down_for = time.monotonic() - killed_at
    sender.join(180)
    assert not sender.is_alive()
    assert producer.flush(180) == 0

    records = read_topic(
        {"bootstrap.servers": local_stack.kafka}, positions.topic, EVENTS, timeout=90, settle=3.0
    )
    received = [str(serde.decode(positions, r.value)["envelope"]["event_id"]) for r in records]

    assert down_for >= OUTAGE_SECONDS
    assert len(received) == EVENTS, f"{len(received) - len(set(received))} duplicates"
    assert set(received) == set(sent_ids)


class _TransactionLoop:
    """The executor's and the exchange's loop on raw bytes: consume a batch of ``source``,
    produce it to ``sink``, send the offsets, commit; a feeder keeps ``source`` flowing."""

    def __init__(self, kafka: dict[str, str], serde: AvroSerde, source: str, sink: str) -> None:
        self._source, self._sink = source, sink
        self._feeder = EventProducer(kafka, serde, service="feeder", block_seconds=120)
        self._producer = TransactionalProducer(kafka, serde, f"txn-{source}", service="loop")
        self._producer.init()
        self._consumer = Consumer(
            {
                **kafka,
                **LONG_LIVED,
                "group.id": f"txn-{source}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
            }
        )
        self._consumer.subscribe([source])
        self.committed: list[float] = []
        self._stop = threading.Event()
        for work in (self._feed, self._loop):
            threading.Thread(target=work, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def first_commit_after(self, moment: float) -> float | None:
        return next((t for t in self.committed if t > moment), None)

    def _feed(self) -> None:
        i = 0
        while not self._stop.is_set():
            self._feeder.send_raw(self._source, str(i % 7), str(i).encode())
            self._feeder.poll(0)
            i += 1
            time.sleep(0.01)

    def _loop(self) -> None:
        while not self._stop.is_set():
            batch = [m for m in self._consumer.consume(100, 0.05) if m.error() is None]
            if not batch:
                continue
            self._producer.begin()
            for message in batch:
                self._producer.send_raw(self._sink, message.key(), message.value())
            self._producer.commit(next_offsets(batch), self._consumer.consumer_group_metadata())
            self.committed.append(time.monotonic())


def _wait(holds: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not holds() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.timeout(300)
def test_transactions_when_broker_sigkilled_and_restarted_then_commits_resume_within_seconds(
    local_stack: Servers, serde: AvroSerde
) -> None:
    """With librdkafka's default re-bootstrap the broker's SIGKILL decommissioned it, and
    ``send_offsets_to_transaction`` waited for ever on the decommissioned group coordinator
    after the broker was back (3 runs in 3; librdkafka issue 5511). ``LONG_LIVED`` keeps
    the learned brokers (services/bus/clients.py)."""
    stack = local_stack.local
    assert stack is not None
    kafka = {"bootstrap.servers": local_stack.kafka}
    source, sink = (f"txn-{uuid.uuid4().hex[:8]}-{side}" for side in ("in", "out"))
    admin = AdminClient(kafka)
    for future in admin.create_topics([NewTopic(t, 3, 1) for t in (source, sink)]).values():
        future.result(30)
    loop = _TransactionLoop(kafka, serde, source, sink)
    try:
        _wait(lambda: len(loop.committed) >= 20, 60)
        assert len(loop.committed) >= 20, "the loop never got going"
        stack.kill("kafka")
        time.sleep(2)
        stack.start("kafka")  # returns once the broker answers
        answered = time.monotonic()
        _wait(lambda: loop.first_commit_after(answered) is not None, 60)
        resumed = loop.first_commit_after(answered)
    finally:
        loop.stop()

    assert resumed is not None, "no commit within 60 s of the broker answering"
    assert resumed - answered < RESUME_SECONDS
