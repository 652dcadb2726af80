"""Promoting the simulator's model, so the executor does not refuse its signals as
UNKNOWN_MODEL_VERSION.

The simulator's signals are seeded random draws, not a model's output: there is no
artifact to load. The promotion says so (``sim://`` URI, the sha256 of no bytes), and is
skipped when that version already serves; otherwise it names the version it replaces.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from schemas.catalogue import MODEL_PROMOTED, TopicNames
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.serde import AvroSerde, Contract, SerdeError
from services.bus.producer import LIBRDKAFKA_LOG, EventProducer
from services.up.exceptions import UpError
from services.up.watch import partitions

PROMOTED_BY = "hfos up"
NO_ARTIFACT_SHA256 = hashlib.sha256(b"").hexdigest()


def artifact_uri(model: str, version: str) -> str:
    return f"sim://{model}/{version}"


def promotion_record(model: str, version: str, previous: str | None, now_ms: int) -> dict[str, Any]:
    return {
        "envelope": envelope("hfos-up", now_ms),
        "model_name": model,
        "version": version,
        "artifact_uri": artifact_uri(model, version),
        "sha256": NO_ARTIFACT_SHA256,
        "format": "JSON_LINEAR",
        "metrics": {},
        "promoted_by": PROMOTED_BY,
        "previous_version": previous,
        "rollback_of": None,
    }


def serving_version(
    kafka: Mapping[str, str], serde: AvroSerde, names: TopicNames, model: str
) -> str | None:
    """The version of ``model`` the last promotion on the (compacted) topic names."""
    target = contract(MODEL_PROMOTED, names)
    consumer = Consumer(
        {
            **kafka,
            "group.id": f"hfos-up-models-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "logger": LIBRDKAFKA_LOG,
        }
    )
    unread = set(partitions(consumer, target.topic))
    consumer.assign([TopicPartition(target.topic, p, OFFSET_BEGINNING) for p in unread])
    serving: str | None = None
    deadline = time.monotonic() + 30
    try:
        while unread:
            if time.monotonic() > deadline:
                raise UpError(f"{target.topic} not read to its end within 30 s")
            for message in consumer.consume(1000, 0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        unread.discard(int(message.partition() or 0))
                    continue
                serving = _version_of(serde, target, message.value(), model) or serving
        return serving
    finally:
        consumer.close()


def _version_of(serde: AvroSerde, target: Contract, value: bytes | None, model: str) -> str | None:
    try:
        record = serde.decode(target, value)
    except SerdeError:
        return None
    return str(record["version"]) if record["model_name"] == model else None


def promote(
    producer: EventProducer, names: TopicNames, model: str, version: str, previous: str | None
) -> None:
    """Publish the promotion and wait for the broker's acknowledgement."""
    record = promotion_record(model, version, previous, int(time.time() * 1000))
    producer.send(contract(MODEL_PROMOTED, names), model, record)
    if producer.flush(30):
        raise UpError(f"the promotion of {model} {version} was not acknowledged within 30 s")
