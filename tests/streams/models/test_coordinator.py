"""The promotion coordinator's verdicts (SPEC §6), pure: no broker, time passed in."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.ids import derived_id
from streams.models.coordinator import (
    Ack,
    Promotion,
    Refusal,
    Registration,
    Responses,
    Verdict,
    beat,
    judge,
    required,
)
from streams.models.records import rollback_record

T0 = 1_000_000
TIMEOUT = 30_000
MONITOR, EXECUTOR = "hfos-monitor/m1", "hfos-executor/e1"

V2 = Promotion(
    promotion_id="p2",
    model="exit-model",
    version="2",
    at=T0,
    artifact_uri="file:///m/2.onnx",
    sha256="b" * 64,
    format="ONNX",
    by="alice",
    previous_version="1",
    previous_artifact_uri="file:///m/1.onnx",
    previous_sha256="a" * 64,
    previous_format="ONNX",
)


def registered(
    *consumers: str, since: int = T0 - 5_000, until: int = T0 + 60_000
) -> list[Registration]:
    out = []
    for consumer in consumers:
        held = beat(None, consumer, ["exit-model"], since, stopping=False)
        out.append(beat(held, consumer, ["exit-model"], until, stopping=False))
    return out


def ack(consumer: str, at: int = T0 + 500) -> Ack:
    return Ack(consumer, at, "2", 40)


def test_judge_when_every_registered_consumer_acked_then_acknowledged() -> None:
    responses = Responses({MONITOR: ack(MONITOR), EXECUTOR: ack(EXECUTOR)})
    verdict = judge(V2, responses, registered(MONITOR, EXECUTOR), as_of=T0 + 1_000)
    assert verdict.verdict is Verdict.ACKNOWLEDGED
    assert verdict.required == {MONITOR, EXECUTOR}


def test_judge_when_one_consumer_missing_before_the_deadline_then_pending() -> None:
    verdict = judge(
        V2, Responses({MONITOR: ack(MONITOR)}), registered(MONITOR, EXECUTOR), T0 + 29_999
    )
    assert verdict.verdict is Verdict.PENDING
    assert verdict.missing == {EXECUTOR}


def test_judge_when_one_consumer_missing_at_the_deadline_then_rolled_back_naming_it() -> None:
    verdict = judge(
        V2, Responses({MONITOR: ack(MONITOR)}), registered(MONITOR, EXECUTOR), T0 + TIMEOUT
    )
    assert verdict.verdict is Verdict.ROLLED_BACK
    assert EXECUTOR in verdict.reason
    assert "30 s" in verdict.reason


def test_judge_when_an_ack_came_after_the_deadline_then_it_does_not_count() -> None:
    late = Responses({MONITOR: ack(MONITOR, at=T0 + TIMEOUT + 1)})
    assert judge(V2, late, registered(MONITOR), T0 + 40_000).verdict is Verdict.ROLLED_BACK


def test_judge_when_any_consumer_refused_then_rolled_back_at_once_whatever_as_of() -> None:
    refusal = Refusal(EXECUTOR, T0 + 100, "2", "DIGEST_MISMATCH", "sha256 is c…")
    responses = Responses({MONITOR: ack(MONITOR)}, {EXECUTOR: refusal})
    verdict = judge(V2, responses, registered(MONITOR, EXECUTOR), as_of=None)
    assert verdict.verdict is Verdict.ROLLED_BACK
    assert "DIGEST_MISMATCH" in verdict.reason


def test_judge_when_inputs_not_handled_yet_then_only_a_refusal_decides() -> None:
    responses = Responses({MONITOR: ack(MONITOR)})
    assert judge(V2, responses, registered(MONITOR), as_of=None).verdict is Verdict.PENDING
    assert judge(V2, responses, registered(MONITOR), as_of=T0 - 1).verdict is Verdict.PENDING


def test_judge_when_first_promotion_fails_then_failed_not_rolled_back() -> None:
    first = replace(V2, previous_version=None, previous_artifact_uri=None, previous_sha256=None)
    assert judge(first, Responses(), registered(MONITOR), T0 + TIMEOUT).verdict is Verdict.FAILED


def test_judge_when_a_rollback_is_not_acknowledged_then_failed_never_rolled_back_again() -> None:
    rollback = replace(V2, version="1", rollback_of="2")
    assert judge(rollback, Responses(), registered(MONITOR), T0 + TIMEOUT).verdict is Verdict.FAILED


def test_judge_when_nobody_is_registered_then_acknowledged_once_inputs_are_handled() -> None:
    assert judge(V2, Responses(), [], as_of=T0).verdict is Verdict.ACKNOWLEDGED


def test_required_when_consumer_stopped_cleanly_before_the_promotion_then_not_required() -> None:
    held = beat(None, MONITOR, ["exit-model"], T0 - 5_000, stopping=False)
    stopped = beat(held, MONITOR, [], T0 - 1_000, stopping=True)
    assert required(V2, [stopped]) == frozenset()


def test_required_when_consumer_silent_past_the_ttl_then_not_required() -> None:
    silent = registered(MONITOR, since=T0 - 60_000, until=T0 - 10_001)
    assert required(V2, silent) == frozenset()


def test_required_when_consumer_died_just_before_the_promotion_then_still_required() -> None:
    """Within the TTL a silent consumer may be alive: the promotion waits for it (safe)."""
    recent = registered(MONITOR, since=T0 - 60_000, until=T0 - 3_000)
    assert required(V2, recent) == {MONITOR}


def test_required_when_consumer_started_after_the_promotion_then_not_required() -> None:
    assert required(V2, registered(MONITOR, since=T0 + 1, until=T0 + 5_000)) == frozenset()


def test_required_when_consumer_serves_another_model_then_not_required() -> None:
    other = [beat(None, MONITOR, ["other-model"], T0 - 1_000, stopping=False)]
    assert required(V2, other) == frozenset()


@given(st.permutations([MONITOR, EXECUTOR, "hfos-monitor/m2"]), st.integers(0, 40_000))
def test_judge_when_acks_arrive_in_any_order_then_same_verdict(
    order: list[str], as_of_offset: int
) -> None:
    """The verdict depends on event times, never on the order the inputs were read."""
    acks = {consumer: ack(consumer, T0 + 100 * (i + 1)) for i, consumer in enumerate(order)}
    regs = registered(*sorted(order))
    forwards = judge(V2, Responses(acks), regs, T0 + as_of_offset)
    backwards = judge(
        V2, Responses(dict(reversed(list(acks.items())))), list(reversed(regs)), T0 + as_of_offset
    )
    assert forwards == backwards


def test_rollback_record_when_built_twice_then_same_event_id_and_previous_artifact() -> None:
    first = rollback_record(V2, "refused", "hfos-model-coordinator", T0 + 1)
    again = rollback_record(V2, "refused", "hfos-model-coordinator", T0 + 999)
    assert first["envelope"]["event_id"] == again["envelope"]["event_id"]
    assert first["envelope"]["event_id"] == derived_id("model.rollback", "p2")
    assert (first["version"], first["rollback_of"]) == ("1", "2")
    assert (first["artifact_uri"], first["sha256"]) == ("file:///m/1.onnx", "a" * 64)
    assert first["previous_version"] is None  # a rollback is never rolled back


@pytest.mark.parametrize(("first", "second"), itertools.permutations([True, False]))
def test_beat_when_model_named_then_dropped_then_named_again_then_new_span(
    first: bool, second: bool
) -> None:
    held = beat(None, MONITOR, ["exit-model"] if first else [], T0, stopping=False)
    held = beat(held, MONITOR, ["exit-model"] if second else [], T0 + 1_000, stopping=False)
    span = held.spans.get("exit-model")
    if first and not second:
        assert span is not None
        assert span.ended == T0 + 1_000
    if second:
        assert span is not None
        assert span.ended is None
