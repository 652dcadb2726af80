"""The coordinator's records: Avro records in, table JSON in and out, the rollback out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from schemas.enums import ModelFormat
from schemas.envelope import envelope
from schemas.ids import derived_id
from streams.models.coordinator import Ack, Promotion, Refusal, Registration, Responses, Span


def consumer_key(service: str, instance: str) -> str:
    """How a model consumer is named: its heartbeat's key, ``<service>/<instance>``."""
    return f"{service}/{instance}"


def promotion_from_record(record: Mapping[str, Any]) -> Promotion:
    env = record["envelope"]
    return Promotion(
        promotion_id=str(env["event_id"]),
        model=str(record["model_name"]),
        version=str(record["version"]),
        at=int(env["event_time"]),
        artifact_uri=str(record["artifact_uri"]),
        sha256=str(record["sha256"]),
        format=str(record["format"]),
        by=str(record["promoted_by"]),
        previous_version=record.get("previous_version"),
        previous_artifact_uri=record.get("previous_artifact_uri"),
        previous_sha256=record.get("previous_sha256"),
        previous_format=record.get("previous_format"),
        rollback_of=record.get("rollback_of"),
    )


def ack_from_record(record: Mapping[str, Any]) -> tuple[str | None, Ack]:
    """The promotion id an ack answers (its causation id) and the ack."""
    env = record["envelope"]
    consumer = consumer_key(str(record["service"]), str(record["instance"]))
    ack = Ack(consumer, int(env["event_time"]), str(record["version"]), int(record["load_ms"]))
    return env.get("causation_id"), ack


def refusal_from_record(record: Mapping[str, Any]) -> tuple[str | None, Refusal]:
    env = record["envelope"]
    consumer = consumer_key(str(record["service"]), str(record["instance"]))
    refusal = Refusal(
        consumer,
        int(env["event_time"]),
        str(record["version"]),
        str(record["error"]),
        str(record["detail"]),
    )
    return env.get("causation_id"), refusal


def rollback_record(promotion: Promotion, reason: str, producer: str, now: int) -> dict[str, Any]:
    """The ``model.promoted`` that rolls ``promotion`` back to its previous version. Its
    event id is derived from the promotion's, so a repeated rollback is one event."""
    event_id = derived_id("model.rollback", promotion.promotion_id)
    return {
        "envelope": envelope(
            producer,
            now,
            event_id=event_id,
            correlation_id=promotion.promotion_id,
            causation_id=promotion.promotion_id,
        ),
        "model_name": promotion.model,
        "version": promotion.previous_version,
        "artifact_uri": promotion.previous_artifact_uri,
        "sha256": promotion.previous_sha256,
        "format": promotion.previous_format or ModelFormat.ONNX.value,
        "metrics": {},
        "promoted_by": producer,
        "previous_version": None,
        "rollback_of": promotion.version,
        "previous_artifact_uri": None,
        "previous_sha256": None,
        "previous_format": None,
        "reason": reason,
    }


def check_record(model: str, promotion_id: str, as_of: int, producer: str) -> dict[str, Any]:
    """The timer's request to judge ``promotion_id`` as of ``as_of``; asking twice for
    the same moment is one command (derived id)."""
    event_id = derived_id("model.promotion.check", promotion_id, str(as_of))
    return {
        "envelope": envelope(producer, as_of, event_id=event_id, causation_id=promotion_id),
        "model_name": model,
        "promotion_id": promotion_id,
        "as_of": as_of,
    }


# -- table JSON ------------------------------------------------------------------------


def promotion_to_json(promotion: Promotion) -> dict[str, Any]:
    return asdict(promotion)


def promotion_from_json(data: Mapping[str, Any]) -> Promotion:
    return Promotion(**data)


def responses_to_json(responses: Responses) -> dict[str, Any]:
    return {
        "acks": {k: asdict(v) for k, v in responses.acks.items()},
        "refusals": {k: asdict(v) for k, v in responses.refusals.items()},
    }


def responses_from_json(data: Mapping[str, Any] | None) -> Responses:
    if not data:
        return Responses()
    return Responses(
        acks={k: Ack(**v) for k, v in data.get("acks", {}).items()},
        refusals={k: Refusal(**v) for k, v in data.get("refusals", {}).items()},
    )


def registration_to_json(registration: Registration) -> dict[str, Any]:
    return {
        "consumer": registration.consumer,
        "spans": {m: [s.first, s.last, s.ended] for m, s in registration.spans.items()},
    }


def registration_from_json(data: Mapping[str, Any]) -> Registration:
    spans = {m: Span(int(v[0]), int(v[1]), v[2]) for m, v in data.get("spans", {}).items()}
    return Registration(str(data["consumer"]), spans)
