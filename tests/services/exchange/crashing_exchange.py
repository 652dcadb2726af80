"""An exchange that SIGKILLs itself inside its first transaction carrying orders: after its
fills reached the broker, before their transaction (and the orders' offsets) committed.

Run by test_exchange_restart.py as ``python -m tests.services.exchange.crashing_exchange
ACCOUNT...`` with the servers and the topic prefix in the environment.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from confluent_kafka import TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import ORDER_REQUESTED, TopicNames
from schemas.serde import AvroSerde
from services.bus.transactions import TransactionalProducer
from services.cli.exchange import READY
from services.exchange.service import ExchangeConfig, PaperExchange
from services.settings import load_settings


class CrashingSink(TransactionalProducer):
    orders_topic = ""

    def commit(
        self,
        offsets: Sequence[TopicPartition] | None,
        group_metadata: Any,
        *,
        give_up_seconds: float | None = None,
    ) -> None:
        if offsets and any(tp.topic == self.orders_topic for tp in offsets):
            self._producer.flush(30)  # the fills are on the broker, in an open transaction
            os.kill(os.getpid(), signal.SIGKILL)
        super().commit(offsets, group_metadata, give_up_seconds=give_up_seconds)


def main(accounts: list[str]) -> None:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    names = TopicNames(settings.hfos_topic_prefix)
    CrashingSink.orders_topic = names.name(ORDER_REQUESTED)
    exchange = PaperExchange(
        settings.kafka_client_config(),
        names,
        AvroSerde(SchemaRegistryClient(settings.registry_client_config())),
        ExchangeConfig(tuple(accounts)),
    )
    exchange._sink = CrashingSink(  # the one seam this test needs
        settings.kafka_client_config(),
        exchange._serde,
        exchange._group,
        service="crashing-exchange",
    )
    exchange.start()
    logging.getLogger("hfos.exchange").info(READY)
    exchange.run(lambda: False)


if __name__ == "__main__":
    main(sys.argv[1:])
