"""A model consumer without a broker: loads off the loop, swaps atomically, answers."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.catalogue import TopicNames
from schemas.envelope import envelope
from services.models.artifact import Artifact
from services.models.consumer import ModelConsumer, serves_only
from services.models.runtime import ExitModel, exit_model
from services.testing.models import BuiltModel, built_model, http_server
from streams.models.coordinator import Promotion
from streams.monitor.features import FEATURE_COUNT

pytestmark = pytest.mark.timeout(60)
NAMES = TopicNames("unit.")


class RecordingProducer:
    """Stands in for EventProducer: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, contract: Any, key: str, record: dict[str, Any]) -> None:
        self.sent.append((contract.topic, key, record))

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [record for sent, _key, record in self.sent if sent == f"unit.{topic}"]


def load(promotion: Promotion, artifact: Artifact) -> ExitModel:
    return exit_model(promotion.model, promotion.version, artifact, FEATURE_COUNT)


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()


@pytest.fixture
def consumer(producer: RecordingProducer) -> Iterator[ModelConsumer[ExitModel]]:
    made: ModelConsumer[ExitModel] = ModelConsumer(
        producer,  # type: ignore[arg-type]
        NAMES,
        "hfos-monitor",
        "unit-1",
        load,
        serves_only(["exit-model"]),
    )
    yield made
    made.close()


def promoted(
    built: BuiltModel, *, uri: str | None = None, sha256: str | None = None
) -> dict[str, Any]:
    return {
        "envelope": envelope("test", int(time.time() * 1000), event_id=str(uuid.uuid4())),
        "model_name": built.name,
        "version": built.version,
        "artifact_uri": uri or built.uri,
        "sha256": sha256 or built.sha256,
        "format": "ONNX",
        "promoted_by": "test",
        "previous_version": None,
        "previous_artifact_uri": None,
        "previous_sha256": None,
        "previous_format": None,
        "rollback_of": None,
    }


def settle(consumer: ModelConsumer[ExitModel], seconds: float = 20.0) -> list[Any]:
    swapped: list[Any] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        swapped += consumer.poll()
        if consumer.idle():
            return swapped + consumer.poll()
        time.sleep(0.01)
    raise AssertionError("the load never finished")


def test_offer_when_loaded_then_swapped_on_poll_and_acknowledged_with_its_cause(
    consumer: ModelConsumer[ExitModel], producer: RecordingProducer
) -> None:
    record = promoted(built_model("exit-model", "1"))
    consumer.offer(record)
    assert consumer.served("exit-model") is None  # nothing swaps until the loop polls
    settle(consumer)
    served = consumer.served("exit-model")
    assert served is not None
    assert served.version == "1"
    [ack] = producer.of("model.loaded")
    assert ack["envelope"]["causation_id"] == record["envelope"]["event_id"]
    assert (ack["version"], ack["service"], ack["instance"]) == ("1", "hfos-monitor", "unit-1")


def test_offer_when_digest_wrong_then_refused_and_previous_keeps_serving(
    consumer: ModelConsumer[ExitModel], producer: RecordingProducer
) -> None:
    consumer.offer(promoted(built_model("exit-model", "1")))
    settle(consumer)
    v2 = built_model("exit-model", "2")
    consumer.offer(promoted(v2, sha256="f" * 64))
    settle(consumer)
    [failed] = producer.of("model.load_failed")
    assert (failed["error"], failed["kept_version"]) == ("DIGEST_MISMATCH", "1")
    served = consumer.served("exit-model")
    assert served is not None
    assert served.version == "1"


def test_offer_when_artifact_is_slow_then_the_loop_keeps_serving_the_old_model(
    consumer: ModelConsumer[ExitModel], tmp_path: Path
) -> None:
    consumer.offer(promoted(built_model("exit-model", "1")))
    settle(consumer)
    v2 = built_model("exit-model", "2")
    shutil.copy(v2.path, tmp_path / "2.onnx")
    with http_server(tmp_path, delay_seconds=1.5) as base:
        consumer.offer(promoted(v2, uri=f"{base}/2.onnx"))
        started = time.monotonic()
        polls = 0
        while not consumer.idle():
            before = time.perf_counter()
            consumer.poll()
            served = consumer.served("exit-model")
            assert served is not None
            assert time.perf_counter() - before < 0.05  # the loop never waits for the load
            polls += 1
            time.sleep(0.01)
            if served.version == "2":
                break
        assert time.monotonic() - started >= 1.4
        assert polls > 20
        settle(consumer)
    served = consumer.served("exit-model")
    assert served is not None
    assert served.version == "2"


def test_offer_when_rolled_back_to_a_held_version_then_swapped_back_without_fetching(
    consumer: ModelConsumer[ExitModel], tmp_path: Path, producer: RecordingProducer
) -> None:
    v1 = built_model("exit-model", "1")
    moved = tmp_path / "1.onnx"
    shutil.copy(v1.path, moved)
    held = BuiltModel("exit-model", "1", moved, v1.sha256)
    consumer.offer(promoted(held))
    settle(consumer)
    consumer.offer(promoted(built_model("exit-model", "2")))
    settle(consumer)
    moved.unlink()  # the old artifact is gone from its store
    consumer.offer(promoted(held))
    settle(consumer)
    served = consumer.served("exit-model")
    assert served is not None
    assert served.version == "1"
    assert not producer.of("model.load_failed")


def test_offer_when_same_promotion_read_twice_or_other_model_then_loaded_once(
    consumer: ModelConsumer[ExitModel], producer: RecordingProducer
) -> None:
    record = promoted(built_model("exit-model", "1"))
    consumer.offer(record)
    consumer.offer(record)
    consumer.offer(promoted(built_model("other-model", "1")))
    settle(consumer)
    assert len(producer.of("model.loaded")) == 1
    assert consumer.models() == ["exit-model"]
