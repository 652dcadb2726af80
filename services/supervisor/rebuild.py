"""A starting supervisor's state: ``system.recovery.state`` read to its end.

Read only what is committed (the journal writes in transactions), and only after the
journal has fenced any predecessor (:meth:`KafkaJournal.init`): an open transaction of a
killed supervisor would otherwise hold this read at its start for up to the transaction
timeout (60 s). Episode numbers and attempt counts come back exactly as last committed,
so a restart resumes an open episode instead of starting the count again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from schemas.catalogue import RECOVERY_STATE, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.producer import LIBRDKAFKA_LOG
from services.supervisor.episode import Episode
from services.supervisor.exceptions import RebuildError
from services.supervisor.records import state_from_record


def read_states(
    client_config: Mapping[str, str], serde: AvroSerde, names: TopicNames, timeout: float
) -> dict[str, Episode]:
    """The last committed state of every subsystem the supervisor ever recorded."""
    target = contract(RECOVERY_STATE, names)
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-supervisor-rebuild-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    consumer.assign([TopicPartition(target.topic, 0, OFFSET_BEGINNING)])
    states: dict[str, Episode] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(500, 0.2):
                error = message.error()
                if error is None:
                    state = state_from_record(serde.decode(target, message.value()))
                    held = states.get(state.subsystem)
                    if held is None or held.sequence <= state.sequence:
                        states[state.subsystem] = state
                elif error.code() == KafkaError._PARTITION_EOF:
                    return states
                elif error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise RebuildError(target.topic, "missing: provision it (hfos topics create)")
    finally:
        consumer.close()
    raise RebuildError(target.topic, f"not read to its end within {timeout:g} s")
