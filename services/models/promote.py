"""Promotion and rollback requests, checked before anything is published.

``hfos model promote`` verifies the artifact as a consumer will — reachable, the digest
promoted, ONNX that onnxruntime loads and runs — and refuses with the typed error naming
what is wrong; only then is ``model.promoted`` published. The record names its rollback
target (``previous_*``): the last version every consumer acknowledged, so a rollback needs
nothing but the record, whatever compaction has removed since.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.enums import ModelFormat
from schemas.envelope import envelope
from schemas.names import check_name, name_problem
from services.models.artifact import Artifact, check_sha256, fetch_verified
from services.models.exceptions import InvalidPromotionError, NothingToRollBackError
from services.models.runtime import session_of
from streams.models.coordinator import Promotion


@dataclass(frozen=True)
class PromotionRequest:
    model: str
    version: str
    uri: str
    sha256: str
    by: str
    reason: str
    metrics: Mapping[str, float] = field(default_factory=dict)


def check_request(request: PromotionRequest) -> None:
    """Every argument, before the artifact is even read."""
    check_name("model name", request.model)
    problem = name_problem(request.version)
    if problem is not None:
        raise InvalidPromotionError("--version", request.version, problem)
    digest_problem = check_sha256(request.sha256)
    if digest_problem is not None:
        raise InvalidPromotionError("--sha256", request.sha256, digest_problem)
    for what, text in (("--by", request.by), ("--reason", request.reason)):
        if not text.strip():
            raise InvalidPromotionError(what, text, "must say who and why")
    for key, value in request.metrics.items():
        key_problem = name_problem(key)
        if key_problem is not None:
            raise InvalidPromotionError("--metric", key, key_problem)
        if not math.isfinite(value):
            raise InvalidPromotionError("--metric", f"{key}={value}", "not a finite number")


def parse_metric(text: str) -> tuple[str, float]:
    """``K=V`` as a metric, or :class:`InvalidPromotionError`."""
    key, separator, value = text.partition("=")
    if not separator:
        raise InvalidPromotionError("--metric", text, "expected NAME=NUMBER")
    try:
        number = float(value)
    except ValueError:
        raise InvalidPromotionError("--metric", text, f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidPromotionError("--metric", text, "not a finite number")
    return key.strip(), number


def verify_artifact(uri: str, sha256: str) -> Artifact:
    """What every consumer will do, done first: fetch, digest, format, load."""
    artifact = fetch_verified(uri, sha256, ModelFormat.ONNX)
    session_of(artifact)
    return artifact


def promotion_record(
    request: PromotionRequest, stable: Promotion | None, now: int, producer: str
) -> dict[str, Any]:
    """The ``model.promoted`` record of ``request``; ``stable`` is its rollback target."""
    back = stable if stable is not None and stable.version != request.version else None
    return {
        "envelope": envelope(producer, now),
        "model_name": request.model,
        "version": request.version,
        "artifact_uri": request.uri,
        "sha256": request.sha256,
        "format": ModelFormat.ONNX.value,
        "metrics": dict(request.metrics),
        "promoted_by": request.by,
        "previous_version": back.version if back else None,
        "rollback_of": None,
        "previous_artifact_uri": back.artifact_uri if back else None,
        "previous_sha256": back.sha256 if back else None,
        "previous_format": back.format if back else None,
        "reason": request.reason,
    }


def rollback_target(latest: Promotion | None, model: str) -> tuple[Promotion, Promotion]:
    """``latest`` and the version a rollback of it returns to, or
    :class:`NothingToRollBackError`."""
    if latest is None:
        raise NothingToRollBackError(model, "it was never promoted")
    if latest.rollback_of is not None:
        raise NothingToRollBackError(
            model, f"{latest.version} is already the rollback of {latest.rollback_of}"
        )
    if not latest.can_roll_back:
        raise NothingToRollBackError(model, f"{latest.version} has no previous version")
    return latest, Promotion(
        promotion_id="",
        model=model,
        version=str(latest.previous_version),
        at=latest.at,
        artifact_uri=str(latest.previous_artifact_uri),
        sha256=str(latest.previous_sha256),
        format=latest.previous_format or ModelFormat.ONNX.value,
        by="",
    )


def rollback_record(
    latest: Promotion, target: Promotion, by: str, reason: str, now: int, producer: str
) -> dict[str, Any]:
    """An operator's rollback of ``latest`` to ``target``: a promotion with ``rollback_of``."""
    return {
        "envelope": envelope(producer, now, causation_id=latest.promotion_id),
        "model_name": latest.model,
        "version": target.version,
        "artifact_uri": target.artifact_uri,
        "sha256": target.sha256,
        "format": target.format,
        "metrics": {},
        "promoted_by": by,
        "previous_version": None,
        "rollback_of": latest.version,
        "previous_artifact_uri": None,
        "previous_sha256": None,
        "previous_format": None,
        "reason": reason,
    }
