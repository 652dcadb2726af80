"""Sending a command to its owner in the stream app and waiting for the answer.

The answer is a record on one of the owner's output topics whose causation id is the
command's id, or the command's own record in ``<command topic>.dlq`` with the typed
reason it was refused. The client positions itself at the current end of those topics
before it sends, so it cannot miss the answer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from schemas import dlq
from schemas.catalogue import TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.errors import HfosError
from schemas.serde import AvroSerde
from services.bus.consumer import headers_of
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer


class CommandRefusedError(HfosError):
    """The owner refused the command; ``error_type`` is its typed reason."""

    def __init__(self, command_id: str, error_type: str, message: str) -> None:
        super().__init__(f"refused ({error_type}): {message}")
        self.command_id = command_id
        self.error_type = error_type
        self.message = message


class NoAnswerError(HfosError):
    """No stream worker answered a command in time."""

    def __init__(self, command_id: str, seconds: float) -> None:
        super().__init__(
            f"no answer to command {command_id} within {seconds:.0f} s: is a stream worker "
            "running (hfos worker) and are the topics provisioned (hfos topics create)?"
        )
        self.command_id = command_id


class CommandClient:
    def __init__(
        self,
        client_config: Mapping[str, str],
        names: TopicNames,
        serde: AvroSerde,
        producer: EventProducer,
        command: TopicSpec,
        answers: Sequence[TopicSpec],
    ) -> None:
        self._config = dict(client_config)
        self._names, self._serde, self._producer = names, serde, producer
        self._command = command
        self._answers = {names.name(spec): spec for spec in answers}

    def submit(
        self, key: str, record: Mapping[str, Any], command_id: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send ``record`` (whose envelope id is ``command_id``); return the answer record,
        or raise :class:`CommandRefusedError` / :class:`NoAnswerError`."""
        listener = self._listen()
        try:
            self._producer.send(contract(self._command, self._names), key, record)
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
        ends = []
        for topic in [*self._answers, self._names.dlq(self._command)]:
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
        if topic == self._names.dlq(self._command):
            value = self._serde.decode(contract(self._command, self._names), message.value())
            if value["envelope"]["event_id"] != command_id:
                return None
            letter = dlq.read(headers_of(message))
            raise CommandRefusedError(command_id, letter.error_type, letter.error_message)
        record = self._serde.decode(contract(self._answers[topic], self._names), message.value())
        return record if record["envelope"]["causation_id"] == command_id else None
