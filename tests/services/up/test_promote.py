"""The promotion ``hfos up`` publishes for the simulator's model."""

from __future__ import annotations

import fastavro

from schemas.catalogue import MODEL_PROMOTED
from schemas.contracts import contract
from services.up.promote import NO_ARTIFACT_SHA256, promotion_record


def test_promotion_record_when_built_then_valid_against_the_model_promoted_schema() -> None:
    record = promotion_record("sim-model", "1", None, 1_700_000_000_000)

    assert fastavro.validate(record, contract(MODEL_PROMOTED).parsed, raise_errors=True)


def test_promotion_record_when_built_then_says_there_is_no_artifact() -> None:
    record = promotion_record("sim-model", "2", "1", 0)

    assert record["artifact_uri"] == "sim://sim-model/2"
    assert record["sha256"] == NO_ARTIFACT_SHA256
    assert record["previous_version"] == "1"
    assert record["promoted_by"] == "hfos up"
