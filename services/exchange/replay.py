"""Reading the exchange's own output to its end, for :class:`~services.exchange.rebuild.Rebuild`.

``read_committed``: records of an aborted batch never count. The exchange reads this only
after ``init_transactions``, which aborts a dead predecessor's open batch, so the end it
reads to is the true end of what was committed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from schemas.catalogue import ACCOUNT_UPDATED, ORDER_FAILED, TopicNames, TopicSpec
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from services.bus.polling import take
from services.bus.producer import LIBRDKAFKA_LOG
from services.exchange.exceptions import ExchangeError
from services.exchange.rebuild import Rebuild, written_by_exchange

LOG = logging.getLogger("hfos.exchange")
OUTPUTS = (ACCOUNT_UPDATED, ORDER_FAILED)
"""What the exchange reads back of its own output to rebuild its book."""


class RebuildTimeoutError(ExchangeError):
    """The exchange's output could not be read to its end in time; it must not trade."""

    def __init__(self, seconds: float, missing: int) -> None:
        super().__init__(
            f"own output not read to its end within {seconds:.0f} s ({missing} partitions "
            "left); check the broker (hfos stack status) and restart the exchange"
        )
        self.seconds = seconds
        self.missing = missing


def read_own_output(
    client_config: Mapping[str, str],
    names: TopicNames,
    serde: AvroSerde,
    timeout: float = 120.0,
) -> Rebuild:
    """Every committed record the exchange wrote, folded into a :class:`Rebuild`."""
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-exchange-rebuild-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        partitions = _partitions(consumer, names)
        consumer.assign(partitions)
        return _read(consumer, names, serde, {(p.topic, p.partition) for p in partitions}, timeout)
    finally:
        consumer.close()


def _partitions(consumer: Consumer, names: TopicNames) -> list[TopicPartition]:
    found: list[TopicPartition] = []
    for spec in OUTPUTS:
        topic = names.name(spec)
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        found.extend(TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions)
    return found


def _read(
    consumer: Consumer,
    names: TopicNames,
    serde: AvroSerde,
    pending: set[tuple[str, int]],
    timeout: float,
) -> Rebuild:
    rebuild = Rebuild()
    kinds = {names.name(spec): spec for spec in OUTPUTS}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise RebuildTimeoutError(timeout, len(pending))
        for message in take(consumer, 1000, 0.5):
            error = message.error()
            if error is None:
                _apply(rebuild, serde, names, kinds[str(message.topic())], message)
            elif error.code() == KafkaError._PARTITION_EOF:
                pending.discard((str(message.topic()), int(message.partition() or 0)))
            elif error.fatal():
                raise KafkaException(error)
    return rebuild


def _apply(
    rebuild: Rebuild, serde: AvroSerde, names: TopicNames, spec: TopicSpec, message: Message
) -> None:
    try:
        record = serde.decode(contract(spec, names), message.value())
    except SerdeError as error:
        LOG.warning("rebuild: skipping an unreadable %s record: %s", spec.name, error)
        return
    if not written_by_exchange(record):
        return
    if spec is ACCOUNT_UPDATED:
        rebuild.account_updated(record)
    else:
        rebuild.order_failed(record)
