"""Consume-decide-produce in Kafka transactions: the outputs of a batch and the consumer
offsets that produced them commit together, or not at all.

A crash between producing an effect and committing its input's offset would otherwise
redeliver the input and produce the effect a second time. With a transaction the
redelivered input finds no committed effect (the aborted one is invisible to
``read_committed`` readers) and makes it exactly once. A zombie instance with the same
``transactional.id`` is fenced by the broker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.serde import AvroSerde
from services.bus.producer import EventProducer

TRANSACTION_TIMEOUT_MS = 60_000


class TransactionalProducer(EventProducer):
    """An :class:`EventProducer` whose sends happen inside :meth:`begin` ... :meth:`commit`."""

    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        transactional_id: str,
        *,
        service: str = "hfos",
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            client_config,
            serde,
            service=service,
            extra_config={
                "transactional.id": transactional_id,
                "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                # librdkafka requires a bounded delivery time under a transaction.
                "message.timeout.ms": TRANSACTION_TIMEOUT_MS,
                # A transaction that starts right after a commit finds the previous one's
                # markers still being written (CONCURRENT_TRANSACTIONS) and is retried
                # after this backoff: the 100 ms default was the executor's p99.
                "retry.backoff.ms": 5,
                **(extra_config or {}),
            },
        )
        self._producer.init_transactions(30)

    def begin(self) -> None:
        self._producer.begin_transaction()

    def commit(self, consumer: Consumer, offsets: Sequence[TopicPartition]) -> None:
        """Commit the sends since :meth:`begin` together with ``consumer``'s ``offsets``
        (the next offset to read of every partition the batch came from)."""
        if offsets:
            self._producer.send_offsets_to_transaction(
                list(offsets), consumer.consumer_group_metadata(), 30
            )
        while True:
            try:
                self._producer.commit_transaction(30)
            except KafkaException as error:
                if error.args[0].retriable():
                    continue  # e.g. the coordinator moved: committing again is safe
                # Anything else ends the process: the batch's inputs were not committed,
                # so a restarted instance decides them again under the same ids.
                raise
            return

    def abort(self) -> None:
        self._producer.abort_transaction(30)
