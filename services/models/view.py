"""The promotion state as the topics hold it, for ``hfos model status|promote|rollback``.

It reads ``model.promoted`` (compacted: the latest record per model, and every record of
the last hour), the acknowledgements and refusals, and the last minutes of heartbeats, to
their end, and folds them with the coordinator's own pure core — the CLI and the worker
judge a promotion by the same function. The worker's verdict is the one that acts (a
rollback is a ``model.promoted`` record, which this view then shows as the latest).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas.catalogue import (
    MODEL_LOAD_FAILED,
    MODEL_LOADED,
    MODEL_PROMOTED,
    SYSTEM_HEARTBEAT,
    TopicNames,
)
from schemas.contracts import contract
from schemas.enums import ServiceStatus
from schemas.serde import AvroSerde, SerdeError
from services.bus.ends import log_ends, log_starts, read_to_ends
from services.bus.exceptions import EndNotReachedError
from services.bus.producer import LIBRDKAFKA_LOG
from services.models.exceptions import ModelError
from streams.models.coordinator import (
    DEFAULT_ACK_TIMEOUT_MS,
    Judgement,
    Promotion,
    Registration,
    Responses,
    Verdict,
    beat,
    judge,
)
from streams.models.records import (
    ack_from_record,
    consumer_key,
    promotion_from_record,
    refusal_from_record,
)

HEARTBEAT_LOOKBACK_MS = 5 * 60_000
"""Registrations older than this cannot count for a promotion still pending (30 s)."""


class ViewTimeoutError(ModelError):
    def __init__(self, topic: str, seconds: float) -> None:
        super().__init__(f"{topic} not read to its end within {seconds:g} s (is the broker up?)")
        self.topic = topic


@dataclass
class PromotionView:
    latest: dict[str, Promotion] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Model -> the latest ``model.promoted`` record as read."""
    responses: dict[str, Responses] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)
    read_at: int = 0

    def judgement(self, model: str, ack_timeout_ms: int = DEFAULT_ACK_TIMEOUT_MS) -> Judgement:
        promotion = self.latest[model]
        return judge(
            promotion,
            self.responses_of(promotion),
            self.registrations.values(),
            self.read_at,
            ack_timeout_ms,
        )

    def responses_of(self, promotion: Promotion) -> Responses:
        return self.responses.get(promotion.promotion_id, Responses())

    def stable(self, model: str, ack_timeout_ms: int = DEFAULT_ACK_TIMEOUT_MS) -> Promotion | None:
        """The promotion a new one would roll back to: the latest when it was acknowledged
        (or is a rollback, which returned to a version that served), else its own
        previous version."""
        latest = self.latest.get(model)
        if latest is None:
            return None
        verdict = self.judgement(model, ack_timeout_ms).verdict
        if latest.rollback_of is not None or verdict is Verdict.ACKNOWLEDGED:
            return latest
        if latest.previous_version is None or latest.previous_artifact_uri is None:
            return None
        return Promotion(
            promotion_id="",
            model=model,
            version=latest.previous_version,
            at=latest.at,
            artifact_uri=latest.previous_artifact_uri,
            sha256=latest.previous_sha256 or "",
            format=latest.previous_format or "ONNX",
            by="",
        )

    # -- folding -----------------------------------------------------------------------

    def fold(self, kind: str, record: Mapping[str, Any]) -> None:
        if kind == MODEL_PROMOTED.name:
            promotion = promotion_from_record(record)
            self.latest[promotion.model] = promotion
            self.records[promotion.model] = dict(record)
        elif kind == MODEL_LOADED.name:
            promotion_id, ack = ack_from_record(record)
            held = self.responses.get(str(promotion_id), Responses())
            self.responses[str(promotion_id)] = Responses(
                {**held.acks, ack.consumer: ack}, held.refusals
            )
        elif kind == MODEL_LOAD_FAILED.name:
            promotion_id, refusal = refusal_from_record(record)
            held = self.responses.get(str(promotion_id), Responses())
            self.responses[str(promotion_id)] = Responses(
                held.acks, {**held.refusals, refusal.consumer: refusal}
            )
        elif (
            record.get("models")
            or consumer_key(str(record["service"]), str(record["instance"])) in self.registrations
        ):
            consumer = consumer_key(str(record["service"]), str(record["instance"]))
            stopping = record["status"] == ServiceStatus.STOPPING.value
            at = int(record["envelope"]["event_time"])
            self.registrations[consumer] = beat(
                self.registrations.get(consumer), consumer, record.get("models") or (), at, stopping
            )


def read_view(
    client_config: Mapping[str, str], serde: AvroSerde, names: TopicNames, timeout: float = 30.0
) -> PromotionView:
    """Every topic of the view read to the log end it had when the read began.

    Not to the first end-of-partition event: librdkafka reports one only from a fetch that
    comes back empty, and a fetch waits up to ``fetch.wait.max.ms`` (500 ms) for data, so
    on a heartbeat topic that several processes write to every second it may never come
    (``hfos model promote`` once timed out after 30 s in a test with five of them)."""
    view = PromotionView()
    contracts = {
        names.name(spec): (spec.name, contract(spec, names))
        for spec in (MODEL_PROMOTED, MODEL_LOADED, MODEL_LOAD_FAILED, SYSTEM_HEARTBEAT)
    }
    starts = _starts(client_config, names, int(time.time() * 1000))
    ends = log_ends(client_config, starts)
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-model-view-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        for message in read_to_ends(consumer, starts, ends, timeout):
            kind, target = contracts[str(message.topic())]
            try:
                view.fold(kind, serde.decode(target, message.value()))
            except (SerdeError, KeyError, ValueError, TypeError):
                continue  # the worker dead-letters it; here it is simply not state
    except EndNotReachedError as late:
        raise ViewTimeoutError(sorted(late.behind)[0][0], timeout) from late
    finally:
        consumer.close()
    view.read_at = int(time.time() * 1000)
    return view


def _starts(client_config: Mapping[str, str], names: TopicNames, now: int) -> list[TopicPartition]:
    """The promotion topics from their beginning; heartbeats from the look-back on."""
    beats = TopicPartition(names.name(SYSTEM_HEARTBEAT), 0)
    return [
        *(
            TopicPartition(names.name(spec), 0, OFFSET_BEGINNING)
            for spec in (MODEL_PROMOTED, MODEL_LOADED, MODEL_LOAD_FAILED)
        ),
        *log_starts(client_config, [beats], now - HEARTBEAT_LOOKBACK_MS),
    ]
