"""Sending a command to its owner in the stream app and waiting for the answer.

The answer is a record on one of the owner's output topics whose causation id is the
command's id — a change (``ess.transition``, ``policy.updated``, ...) or, for a command
that changes nothing, the owner's ``*.unchanged`` topic with the state in force and why —
or the command's own record in ``<command topic>.dlq`` with the typed reason it was
refused. The client positions itself at the current end of those topics before it sends,
so it cannot miss the answer. Every command is answered, so on a healthy worker the
timeout is never reached.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from schemas import dlq
from schemas.catalogue import TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.errors import HfosError
from schemas.serde import AvroSerde
from services.bus.consumer import headers_of
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer


class CommandRefusedError(HfosError):
    """The owner refused the command; ``error_type`` is its typed reason."""

    def __init__(self, command_id: str, error_type: str, message: str) -> None:
        super().__init__(f"refused ({error_type}): {message}")
        self.command_id = command_id
        self.error_type = error_type
        self.message = message


class NoAnswerError(HfosError):
    """No stream worker answered a command in time (every command is answered, so the
    worker is down, stuck or not yet started)."""

    def __init__(self, command_id: str, seconds: float) -> None:
        super().__init__(
            f"no answer to command {command_id} within {seconds:.0f} s: it is on the command "
            "topic and a stream worker applies it when it reads it — is one running (hfos "
            "worker)? Check the state before resending."
        )
        self.command_id = command_id


REACH_SECONDS = 15.0
"""How long the client waits for the broker to tell it where the answer topics end, before
anything is sent. A reachable broker answers in milliseconds (a restarting one within
~10 s here); one that does not is down, and the operator hears it in 15 s, not 30."""


class NotDeliveredError(HfosError):
    """The broker did not acknowledge the command in time: it may not have been sent."""

    def __init__(self, command_id: str, topic: str, seconds: float) -> None:
        super().__init__(
            f"command {command_id} was not acknowledged by Kafka within {seconds:.0f} s "
            f"({topic}): it may or may not reach its owner — check the state before resending "
            "(hfos stack status; is the broker up?)"
        )
        self.command_id = command_id
        self.topic = topic


@dataclass(frozen=True)
class Answer:
    """The owner's answer to a command: the record and the catalogue topic it came on."""

    topic: TopicSpec
    record: dict[str, Any]
    unchanged: bool
    """True when the command changed nothing (``record`` is the state in force and why)."""


class CommandClient:
    def __init__(
        self,
        client_config: Mapping[str, str],
        names: TopicNames,
        serde: AvroSerde,
        producer: EventProducer,
        command: TopicSpec,
        answers: Sequence[TopicSpec],
        unchanged: TopicSpec,
    ) -> None:
        self._config = dict(client_config)
        self._names, self._serde, self._producer = names, serde, producer
        self._command = command
        self._unchanged = unchanged
        self._answers = {names.name(spec): spec for spec in (*answers, unchanged)}

    def submit(
        self, key: str, record: Mapping[str, Any], command_id: str, timeout: float = 30.0
    ) -> Answer:
        """Send ``record`` (whose envelope id is ``command_id``); return the answer, or
        raise :class:`CommandRefusedError` / :class:`NotDeliveredError` /
        :class:`NoAnswerError`."""
        listener = self._listen()
        try:
            self._producer.send(contract(self._command, self._names), key, record)
            if self._producer.flush(timeout):
                raise NotDeliveredError(command_id, self._names.name(self._command), timeout)
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
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, 0), timeout=REACH_SECONDS
            )
            ends.append(TopicPartition(topic, 0, max(high, 0)))
        consumer.assign(ends)
        return consumer

    def _await(self, consumer: Consumer, command_id: str, timeout: float) -> Answer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in take(consumer, 100, 0.05):
                if message.error() is None:
                    answer = self._answer(message, command_id)
                    if answer is not None:
                        return answer
        raise NoAnswerError(command_id, timeout)

    def _answer(self, message: Message, command_id: str) -> Answer | None:
        topic = str(message.topic())
        if topic == self._names.dlq(self._command):
            value = self._serde.decode(contract(self._command, self._names), message.value())
            if value["envelope"]["event_id"] != command_id:
                return None
            letter = dlq.read(headers_of(message))
            raise CommandRefusedError(command_id, letter.error_type, letter.error_message)
        spec = self._answers[topic]
        record = self._serde.decode(contract(spec, self._names), message.value())
        if record["envelope"]["causation_id"] != command_id:
            return None
        return Answer(spec, record, unchanged=spec == self._unchanged)
