"""Submitting policy commands and waiting for the owner's answer.

The answer to a command is the ``policy.updated``/``policy.activated`` record whose
causation id is the command's id, or its record in ``policy.command.dlq`` with the typed
reason it was refused. The client listens from the current end of those three topics
before it sends, so it cannot miss the answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from schemas import dlq
from schemas.catalogue import POLICY_ACTIVATED, POLICY_COMMAND, POLICY_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from services.bus.consumer import headers_of
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer
from services.policy.exceptions import CommandRefusedError, NoAnswerError


class PolicyClient:
    def __init__(
        self,
        client_config: Mapping[str, str],
        names: TopicNames,
        serde: AvroSerde,
        producer: EventProducer,
        service: str = "hfos-cli",
    ) -> None:
        self._config = dict(client_config)
        self._names = names
        self._serde = serde
        self._producer = producer
        self._service = service

    def submit(self, command: Mapping[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Send ``command`` (a ``PolicyCommand`` without envelope); return the record it
        produced, or raise :class:`CommandRefusedError` / :class:`NoAnswerError`."""
        command_id = str(uuid.uuid4())
        record = {
            **command,
            "envelope": envelope(self._service, int(time.time() * 1000), event_id=command_id),
        }
        target = contract(POLICY_COMMAND, self._names)
        listener = self._listen()
        try:
            self._producer.send(target, str(command["profile"]), record)
            if self._producer.flush(timeout):
                raise NoAnswerError(command_id, timeout)
            return self._await(listener, command_id, timeout)
        finally:
            listener.close()

    def _listen(self) -> Consumer:
        consumer = Consumer(
            {
                **self._config,
                "group.id": f"hfos-cli-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
                "logger": LIBRDKAFKA_LOG,
            }
        )
        topics = [
            self._names.name(POLICY_UPDATED),
            self._names.name(POLICY_ACTIVATED),
            self._names.dlq(POLICY_COMMAND),
        ]
        ends = []
        for topic in topics:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
            ends.append(TopicPartition(topic, 0, max(high, 0)))
        consumer.assign(ends)
        return consumer

    def _await(self, consumer: Consumer, command_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in consumer.consume(100, 0.05):
                if message.error() is None:
                    answer = self._answer(message, command_id)
                    if answer is not None:
                        return answer
        raise NoAnswerError(command_id, timeout)

    def _answer(self, message: Message, command_id: str) -> dict[str, Any] | None:
        topic = str(message.topic())
        if topic == self._names.dlq(POLICY_COMMAND):
            value = self._serde.decode(contract(POLICY_COMMAND, self._names), message.value())
            if value["envelope"]["event_id"] != command_id:
                return None
            letter = dlq.read(headers_of(message))
            raise CommandRefusedError(command_id, letter.error_type, letter.error_message)
        spec = POLICY_UPDATED if topic == self._names.name(POLICY_UPDATED) else POLICY_ACTIVATED
        record = self._serde.decode(contract(spec, self._names), message.value())
        return record if record["envelope"]["causation_id"] == command_id else None
