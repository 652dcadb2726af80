"""A Faust worker for the bus-rule test: it copies valid trade signals from one prefix to
another and leaves everything else to :func:`streams.bus.decoded` (the DLQ)."""

from __future__ import annotations

import os
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import TRADE_SIGNAL, TopicNames
from schemas.serde import AvroSerde
from streams.app import AppConfig, create_app
from streams.bus import decoded, dlq_topic, sink_topic, source_topic

source = TopicNames(os.environ["ECHO_SOURCE_PREFIX"])
target = TopicNames(os.environ["ECHO_TARGET_PREFIX"])
serde = AvroSerde(SchemaRegistryClient({"url": os.environ["SCHEMA_REGISTRY_URL"]}))
app = create_app(
    AppConfig(app_id=os.environ["ECHO_APP_ID"], broker=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
)
signals_in = source_topic(app, TRADE_SIGNAL, source)
signals_out = sink_topic(app, TRADE_SIGNAL, target, serde)
dead_letters = dlq_topic(app, TRADE_SIGNAL, source)


@app.agent(signals_in, concurrency=1)
async def echo(stream: Any) -> None:
    async for item in decoded(stream, TRADE_SIGNAL, source, serde, dead_letters, "echo"):
        await signals_out.send(key=item.key, value=item.value)


if __name__ == "__main__":
    app.main()
