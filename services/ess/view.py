"""A process's view of ``ess.state``: every scope's latest state, and whether the view has
read the topic to its end (until then, the process must refuse new risk: not ready)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from schemas.catalogue import ESS_STATE, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from services.bus.producer import LIBRDKAFKA_LOG


class EssView:
    def __init__(
        self, client_config: Mapping[str, str], names: TopicNames, serde: AvroSerde
    ) -> None:
        self._contract = contract(ESS_STATE, names)
        self._serde = serde
        self._states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.caught_up = threading.Event()
        self._consumer = Consumer(
            {
                **client_config,
                "group.id": f"hfos-ess-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,
                "logger": LIBRDKAFKA_LOG,
            }
        )
        self._consumer.assign([TopicPartition(self._contract.topic, 0, OFFSET_BEGINNING)])
        self._thread = threading.Thread(target=self._run, name="ess-view", daemon=True)
        self._thread.start()

    def states(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._states)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for message in self._consumer.consume(500, 0.1):
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            self.caught_up.set()
                        continue
                    self._apply(message.value())
        finally:
            self._consumer.close()

    def _apply(self, raw: bytes | None) -> None:
        try:
            record = self._serde.decode(self._contract, raw)
        except SerdeError:
            return
        with self._lock:
            held = self._states.get(record["scope"])
            if held is None or held["version"] < record["version"]:
                self._states[record["scope"]] = record
