"""A process's own materialised view of ``policy.updated`` and ``policy.activated``.

A background thread reads both compacted topics from the beginning and keeps the newest
version of every profile and activation. It is the reader's fallback when Redis is down,
and the guard that keeps a reader from ever going back a version.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from schemas.catalogue import POLICY_ACTIVATED, POLICY_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from services.bus.producer import LIBRDKAFKA_LOG
from streams.policy.exceptions import PolicyError
from streams.policy.owner import PolicyState
from streams.policy.records import Activation, activation_from_record, version_from_record
from streams.policy.version import PolicyVersion

log = logging.getLogger(__name__)


class PolicyView:
    """Follows the policy topics in a daemon thread; thread-safe snapshots."""

    def __init__(
        self, client_config: Mapping[str, str], names: TopicNames, serde: AvroSerde
    ) -> None:
        self._updated = contract(POLICY_UPDATED, names)
        self._activated = contract(POLICY_ACTIVATED, names)
        self._serde = serde
        self._versions: dict[str, PolicyVersion] = {}
        self._activations: dict[str, Activation] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.caught_up = threading.Event()
        self._consumer = Consumer(
            {
                **client_config,
                "group.id": f"hfos-view-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,
                "logger": LIBRDKAFKA_LOG,
            }
        )
        self._consumer.assign(
            [TopicPartition(c.topic, 0, OFFSET_BEGINNING) for c in (self._updated, self._activated)]
        )
        self._thread = threading.Thread(target=self._run, name="policy-view", daemon=True)
        self._thread.start()

    def state(self) -> PolicyState:
        with self._lock:
            return PolicyState(dict(self._versions), dict(self._activations))

    def wait_caught_up(self, seconds: float) -> bool:
        return self.caught_up.wait(seconds)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        at_end: set[str] = set()
        try:
            while not self._stop.is_set():
                for message in self._consumer.consume(500, 0.1):
                    self._handle(message, at_end)
        finally:
            self._consumer.close()

    def _handle(self, message: Message, at_end: set[str]) -> None:
        error = message.error()
        topic = str(message.topic())
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                at_end.add(topic)
                if len(at_end) == 2:  # noqa: PLR2004 - both policy topics
                    self.caught_up.set()
            return
        try:
            self._apply(topic, message.value())
        except (SerdeError, PolicyError, KeyError, ValueError) as problem:
            log.warning("policy view: skipping an unreadable record of %s: %s", topic, problem)

    def _apply(self, topic: str, raw: bytes | None) -> None:
        if topic == self._updated.topic:
            version = version_from_record(self._serde.decode(self._updated, raw))
            with self._lock:
                held = self._versions.get(version.profile.value)
                if held is None or held.version < version.version:
                    self._versions[version.profile.value] = version
        else:
            activation = activation_from_record(self._serde.decode(self._activated, raw))
            with self._lock:
                held_activation = self._activations.get(activation.scope)
                if held_activation is None or held_activation.version < activation.version:
                    self._activations[activation.scope] = activation
