"""What CLI commands share: the settings, and clients built from them on first use.

The settings and the Kafka and registry clients are imported where they are first built,
not at module import: a command that refuses its arguments never loads them (see
``services.cli.main``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from schemas.catalogue import TopicNames

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

    from schemas.serde import AvroSerde
    from services.bus.producer import EventProducer
    from services.settings import Settings


@dataclass
class Context:
    """Built once per CLI invocation; settings are validated on first use."""

    service: str = "hfos-cli"
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            # Imported here: pydantic costs ~0.25 s, which a refused argument never needs.
            from services.settings import load_settings  # noqa: PLC0415 - start-up time

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
        from confluent_kafka.admin import AdminClient  # noqa: PLC0415 - start-up time

        from services.bus.producer import LIBRDKAFKA_LOG  # noqa: PLC0415 - start-up time

        return AdminClient(dict(self.kafka), logger=LIBRDKAFKA_LOG)

    @cached_property
    def serde(self) -> AvroSerde:
        """Through :class:`schemas.registry.RestRegistryClient`: the same two REST calls as
        confluent-kafka's client, without its ~0.35 s of imports."""
        from schemas.registry import RestRegistryClient, SchemaText  # noqa: PLC0415
        from schemas.serde import AvroSerde  # noqa: PLC0415 - start-up time

        registry = RestRegistryClient(self.settings.registry_client_config())
        return AvroSerde(registry, schema_of=SchemaText)

    @cached_property
    def producer(self) -> EventProducer:
        from services.bus.producer import EventProducer  # noqa: PLC0415 - start-up time

        return EventProducer(self.kafka, self.serde, service=self.service)
