"""What CLI commands share: the settings, and clients built from them on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer
from services.settings import Settings, load_settings


@dataclass
class Context:
    """Built once per CLI invocation; settings are validated on first use."""

    service: str = "hfos-cli"
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def kafka(self) -> dict[str, str]:
        return self.settings.kafka_client_config()

    @cached_property
    def names(self) -> TopicNames:
        return TopicNames(self.settings.hfos_topic_prefix)

    @cached_property
    def admin(self) -> AdminClient:
        return AdminClient(dict(self.kafka), logger=LIBRDKAFKA_LOG)

    @cached_property
    def serde(self) -> AvroSerde:
        return AvroSerde(SchemaRegistryClient(self.settings.registry_client_config()))

    @cached_property
    def producer(self) -> EventProducer:
        return EventProducer(self.kafka, self.serde, service=self.service)
