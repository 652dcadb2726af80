"""A topic's value contract: the catalogue entry joined to its Avro schema."""

from __future__ import annotations

from functools import cache

from schemas.catalogue import TopicNames, TopicSpec
from schemas.errors import HfosError
from schemas.loader import schema_str, standalone_schema
from schemas.serde import Contract, codec_schema

PRODUCTION = TopicNames()


class NoContractError(HfosError):
    """A topic without an Avro value schema (a DLQ holds raw bytes)."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"{topic} has no Avro value schema (dead-letter topics hold raw bytes)")
        self.topic = topic


@cache
def contract(spec: TopicSpec, names: TopicNames = PRODUCTION) -> Contract:
    """The contract of ``spec`` under ``names`` (its prefix)."""
    if spec.value_schema is None:
        raise NoContractError(names.name(spec))
    return Contract(
        topic=names.name(spec),
        subject=names.subject(spec),
        schema_name=spec.value_schema,
        schema_str=schema_str(spec.value_schema),
        parsed=codec_schema(standalone_schema(spec.value_schema)),
        key_field=spec.key_field,
    )
