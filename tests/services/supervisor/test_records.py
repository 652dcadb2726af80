"""The supervisor's records: its state survives the Avro round trip exactly (what a
restart reads back), ids are derived from their cause, escalations ask for what the
policy named, and ``--since`` is read as a time or an age."""

from __future__ import annotations

import io

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from schemas.catalogue import RECOVERY_STATE
from schemas.contracts import contract
from schemas.enums import EssState, RecoveryOutcome
from schemas.enums import RecoveryPhase as Phase
from services.supervisor import Episode, Escalation, Line
from services.supervisor.exceptions import HistoryError
from services.supervisor.history import as_json, as_text, parse_since
from services.supervisor.records import (
    escalation_command,
    escalation_id,
    line_record,
    state_from_record,
    state_record,
)
from streams.testing import START

times = st.one_of(st.none(), st.integers(0, 2**50))
episodes = st.builds(
    Episode,
    subsystem=st.sampled_from(["kafka", "redis", "service:hfos-streams"]),
    phase=st.sampled_from(list(Phase)),
    episode=st.integers(0, 2**40),
    attempt=st.integers(0, 5),
    total_attempts=st.integers(0, 2**40),
    sequence=st.integers(0, 2**40),
    opened_at=times,
    failing_since=times,
    due_at=times,
    delay_ms=st.integers(0, 20_000),
    started_at=times,
    healthy_since=times,
    exhausted=st.booleans(),
    escalated=st.booleans(),
    error=st.one_of(st.none(), st.text(max_size=200)),
)


@given(episodes, st.booleans())
def test_state_when_written_and_read_through_avro_then_identical(
    state: Episode, critical: bool
) -> None:
    parsed = contract(RECOVERY_STATE).parsed
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, state_record(state, critical=critical, now=START))
    buffer.seek(0)
    read = schemaless_reader(buffer, parsed, parsed)
    assert isinstance(read, dict)
    assert state_from_record(read) == state


def test_escalation_when_built_twice_for_one_episode_then_same_ids() -> None:
    escalation = Escalation("kafka", 3, START, EssState.TRIPPED, "kafka: 5 attempts failed")
    first = escalation_command(escalation, START + 1)
    again = escalation_command(escalation, START + 99_000)
    assert first["command_id"] == again["command_id"]
    assert first["cause_event_id"] == escalation_id("kafka", 3, START)
    assert (first["kind"], first["scope"], first["trigger"]) == (
        "TRIP",
        "global",
        "SUPERVISOR_ESCALATION",
    )


def test_escalation_when_episode_number_reused_after_lost_state_then_different_id() -> None:
    assert escalation_id("kafka", 1, START) != escalation_id("kafka", 1, START + 1)


def test_line_when_escalated_then_its_event_id_is_the_escalation_cause() -> None:
    line = Line("kafka", 2, 9, RecoveryOutcome.ESCALATED, 5, START, escalated_to=EssState.REDUCING)
    record = line_record(line, critical=True, action=None, opened_at=START - 5)
    assert record["envelope"]["event_id"] == escalation_id("kafka", 2, START - 5)
    assert record["escalated_to"] == "REDUCING"


def test_history_line_when_rendered_then_text_and_json_name_the_step() -> None:
    line = Line("redis", 1, 2, RecoveryOutcome.ATTEMPT_SCHEDULED, 2, START, delay_ms=2_134)
    record = line_record(line, critical=False, action=None, opened_at=START)
    assert "redis" in as_text(record)
    assert "ATTEMPT_SCHEDULED" in as_text(record)
    assert "2.134 s" in as_text(record)
    assert as_json(record)["at"] == "2026-01-01T00:00:00.000Z"
    assert as_json(record)["delay_ms"] == 2_134


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", START - 90_000),
        ("15m", START - 900_000),
        ("2h", START - 7_200_000),
        ("1.5d", START - 129_600_000),
        ("2026-01-01T00:00:00Z", START),
        ("2026-01-01T01:00:00+01:00", START),
        ("2026-01-01T00:00:00", START),
    ],
)
def test_since_when_time_or_age_then_epoch_ms(text: str, expected: int) -> None:
    assert parse_since(text, START) == expected


@pytest.mark.parametrize("text", ["yesterday", "5 weeks", "-3m", ""])
def test_since_when_not_understood_then_refused_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(HistoryError, match="ISO-8601"):
        parse_since(text, START)
