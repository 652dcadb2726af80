"""The exchange's transactional producer: every batch's effects and the input offsets that
caused them are committed together, or not at all.

A crash mid-batch leaves an open transaction; the next instance with the same
``transactional.id`` fences the dead one and aborts it in ``init_transactions``, so
``read_committed`` readers never see half a batch, and the batch's inputs are consumed
again (their offsets were not committed either). Nothing is filled twice, nothing lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaException, Producer, TopicPartition

from schemas.serde import AvroSerde, Contract
from services.bus.producer import LIBRDKAFKA_LOG

Headers = list[tuple[str, str | bytes | None]]

# The broker aborts a transaction left open for this long (a hung process): 60 s bounds
# how long read_committed readers can be held up by a zombie, and is far above a batch's
# few milliseconds. librdkafka requires message.timeout.ms <= transaction.timeout.ms.
TRANSACTION_TIMEOUT_MS = 60_000
_INIT_TIMEOUT_S = 60.0
_COMMIT_TIMEOUT_S = 30.0


class TransactionalSink:
    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        transactional_id: str,
        *,
        service: str,
    ) -> None:
        self._serde = serde
        config: dict[str, Any] = {
            **client_config,
            "transactional.id": transactional_id,
            "enable.idempotence": True,
            "acks": "all",
            "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
            "message.timeout.ms": TRANSACTION_TIMEOUT_MS,
            # CONCURRENT_TRANSACTIONS right after a commit is retried after this; the
            # 100 ms default put 100 ms into every back-to-back batch's tail.
            "retry.backoff.ms": 5,
            # 5 ms of batching: a transaction's records go in one request per partition.
            "linger.ms": 5,
            "client.id": service,
            "logger": LIBRDKAFKA_LOG,
        }
        self._producer = Producer(config)

    def init(self) -> None:
        """Register the transactional id: fences and aborts a previous instance's batch."""
        self._producer.init_transactions(_INIT_TIMEOUT_S)

    def begin(self) -> None:
        self._producer.begin_transaction()

    def send(
        self, contract: Contract, key: str, record: Mapping[str, Any], headers: Headers
    ) -> None:
        value = self._serde.encode(contract, record)
        self.send_raw(contract.topic, key, value, headers)

    def send_raw(
        self, topic: str, key: str | bytes | None, value: bytes | None, headers: Headers
    ) -> None:
        try:
            self._producer.produce(topic, value, key, headers=headers)
        except BufferError:
            # The default buffer holds 100 000 messages, far more than one batch makes;
            # serve delivery reports once and try again rather than fail the batch.
            self._producer.poll(1.0)
            self._producer.produce(topic, value, key, headers=headers)
        self._producer.poll(0)

    def commit(self, offsets: Sequence[TopicPartition] | None, group_metadata: Any) -> None:
        """Commit the batch, with ``offsets`` (the next offset to consume per partition)."""
        if offsets:
            self._producer.send_offsets_to_transaction(
                list(offsets), group_metadata, _COMMIT_TIMEOUT_S
            )
        while True:
            try:
                self._producer.commit_transaction(_COMMIT_TIMEOUT_S)
            except KafkaException as error:
                if error.args[0].retriable():
                    continue  # e.g. the coordinator moved: the commit is safe to retry
                raise
            return

    def abort(self) -> None:
        self._producer.abort_transaction(_COMMIT_TIMEOUT_S)

    def close(self) -> None:
        self._producer.flush(_COMMIT_TIMEOUT_S)
