"""A starting supervisor's state: ``system.recovery.state`` read to its end (the log end
as the read begins, a transaction still committing there included: :mod:`services.bus.ends`).

Read only what is committed (the journal writes in transactions), and only after the
journal has fenced any predecessor (:meth:`KafkaJournal.init`): an open transaction of a
killed supervisor would otherwise hold this read at its start for up to the transaction
timeout (60 s). Episode numbers and attempt counts come back exactly as last committed,
so a restart resumes an open episode instead of starting the count again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from schemas.catalogue import RECOVERY_STATE, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.ends import log_ends, read_to_ends
from services.bus.exceptions import BusError, MissingTopicError
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
    starts = [TopicPartition(target.topic, 0, OFFSET_BEGINNING)]
    states: dict[str, Episode] = {}
    try:
        for message in read_to_ends(consumer, starts, log_ends(client_config, starts), timeout):
            state = state_from_record(serde.decode(target, message.value()))
            held = states.get(state.subsystem)
            if held is None or held.sequence <= state.sequence:
                states[state.subsystem] = state
    except MissingTopicError:
        raise RebuildError(
            target.topic, "missing: provision the topics (hfos topics create)"
        ) from None
    except KafkaException as error:
        raise RebuildError(target.topic, str(error.args[0])) from error
    except BusError as error:
        raise RebuildError(target.topic, str(error)) from error
    finally:
        consumer.close()
    return states
