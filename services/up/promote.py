"""The models ``hfos up`` serves: built (``hfos model build``'s builder), verified and
promoted like any other model, so every consumer loads a real ONNX artifact.

Two: the model the simulator's signals name (``sim-model`` ``1``: the executor refuses a
signal whose model version it has not loaded, UNKNOWN_MODEL_VERSION), and the position
monitor's exit model. The artifacts live under ``$HFOS_MODEL_DIR`` (default
``~/.local/state/hfos/models/<topic prefix>``), where they stay for as long as their
promotions do. The build is reproducible, so a second ``hfos up`` finds the same digest
already promoted and publishes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from schemas.catalogue import MODEL_PROMOTED, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.up.exceptions import UpError

PROMOTED_BY = "hfos up"
PRODUCER = "hfos-up"


@dataclass(frozen=True)
class Promoted:
    model: str
    version: str
    uri: str
    sha256: str
    already: bool
    replaced: str | None


def model_dir(prefix: str) -> Path:
    base = os.environ.get("HFOS_MODEL_DIR")
    root = Path(base) if base else Path.home() / ".local" / "state" / "hfos" / "models"
    return root / (prefix.rstrip(".") or "default")


def ensure_promoted(
    kafka: Mapping[str, str],
    serde: AvroSerde,
    names: TopicNames,
    producer: EventProducer,
    model: str,
    version: str,
    directory: Path | None = None,
) -> Promoted:
    """Build ``model`` ``version`` (under ``directory``, default :func:`model_dir`), and
    promote it unless that very artifact serves."""
    from services.models.build import BuildConfig, build  # noqa: PLC0415 - training is heavy
    from services.models.promote import (  # noqa: PLC0415
        PromotionRequest,
        promotion_record,
        verify_artifact,
    )
    from services.models.view import read_view  # noqa: PLC0415

    out = (directory or model_dir(names.prefix)) / model / f"{version}.onnx"
    built = build(BuildConfig(model, version), out)
    uri = built.path.resolve().as_uri()
    view = read_view(kafka, serde, names)
    latest = view.latest.get(model)
    if latest is not None and (latest.version, latest.sha256) == (version, built.sha256):
        return Promoted(model, version, uri, built.sha256, already=True, replaced=None)
    verify_artifact(uri, built.sha256)
    request = PromotionRequest(
        model,
        version,
        uri,
        built.sha256,
        PROMOTED_BY,
        "the desk hfos up runs",
        {k: v for k, v in built.metrics.items() if k != "rows"},
    )
    stable = view.stable(model)
    record = promotion_record(request, stable, int(time.time() * 1000), PRODUCER)
    producer.send(contract(MODEL_PROMOTED, names), model, record)
    if producer.flush(30):
        raise UpError(f"the promotion of {model} {version} was not acknowledged within 30 s")
    replaced = latest.version if latest is not None else None
    return Promoted(model, version, uri, built.sha256, already=False, replaced=replaced)
