"""The models ``hfos up`` builds and promotes: real ONNX artifacts, verified, promoted once."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.models.view import read_view
from services.testing import Servers
from services.up.promote import ensure_promoted, model_dir

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


def test_ensure_promoted_when_run_twice_then_one_verified_onnx_promotion(
    stack: Servers,
    serde: AvroSerde,
    producer: EventProducer,
    names: TopicNames,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HFOS_MODEL_DIR", str(tmp_path))
    kafka = {"bootstrap.servers": stack.kafka}
    first = ensure_promoted(kafka, serde, names, producer, "sim-model", "1")
    again = ensure_promoted(kafka, serde, names, producer, "sim-model", "1")
    view = read_view(kafka, serde, names)

    assert (first.already, again.already) == (False, True)
    assert first.uri.startswith(model_dir(names.prefix).as_uri())
    latest = view.latest["sim-model"]
    assert (latest.version, latest.format, latest.sha256) == ("1", "ONNX", first.sha256)
    assert view.records["sim-model"]["metrics"]["accuracy"] > 0.9
