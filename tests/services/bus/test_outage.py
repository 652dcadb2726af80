"""A broker outage loses and duplicates nothing while the producing process lives."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest
from confluent_kafka.admin import AdminClient

from schemas.catalogue import POSITION_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.kafka import read_topic

pytestmark = [pytest.mark.stack, pytest.mark.localstack]

EVENTS = 100_000
OUTAGE_SECONDS = 30.0


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
