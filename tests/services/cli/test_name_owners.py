"""The name rule again at the owners (issue 13 point 2): a record that reaches
``ess.command`` or ``strategy.switched`` without the CLI — another producer, a replay —
and names a scope with control or invisible characters goes to the topic's DLQ with a
typed error naming the field, and changes nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from schemas import dlq
from schemas.catalogue import ESS_COMMAND, ESS_STATE, STRATEGY_SWITCHED, TopicSpec
from schemas.contracts import contract
from schemas.envelope import envelope
from services.bus.producer import EventProducer
from services.testing.kafka import read_topic
from tests.services.cli.conftest import Desk

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

BAD_SCOPES = ["account:\x1b[31mRED", "account:\u200b", "account::", "account:" + "x" * 100_000]


def _send(desk: Desk, spec: TopicSpec, records: list[dict[str, Any]]) -> None:
    producer = EventProducer({"bootstrap.servers": desk.stack.kafka}, desk.serde)
    target = contract(spec, desk.names)
    for record in records:
        producer.send(target, str(record["scope"]), record)  # keyed as the owner expects
    assert producer.flush(30) == 0


def _letters(desk: Desk, spec: TopicSpec, marker: str, expected: int) -> list[dlq.DeadLetter]:
    """The dead letters of ``spec`` whose original record's reason is ``marker``."""
    target = contract(spec, desk.names)
    deadline = time.monotonic() + 30
    found: list[dlq.DeadLetter] = []
    while len(found) < expected and time.monotonic() < deadline:
        raw = read_topic(
            {"bootstrap.servers": desk.stack.kafka}, desk.names.dlq(spec), 1, timeout=5, settle=1
        )
        found = [
            dlq.read(r.headers)
            for r in raw
            if desk.serde.decode(target, r.value)["reason"] == marker
        ]
    return found


def _command(scope: str, reason: str) -> dict[str, Any]:
    command_id = str(uuid.uuid4())
    return {
        "envelope": envelope("test", int(time.time() * 1000), event_id=command_id),
        "command_id": command_id,
        "scope": scope,
        "kind": "TRIP",
        "trigger": "MANUAL",
        "expected_version": None,
        "by": "test",
        "reason": reason,
        "cause_event_id": None,
    }


def _switch(scope: str, reason: str) -> dict[str, Any]:
    return {
        "envelope": envelope("test", int(time.time() * 1000)),
        "scope": scope,
        "strategy": "aggressive",
        "version": 1,
        "previous": None,
        "by": "test",
        "reason": reason,
    }


def test_ess_owner_when_command_scope_breaks_name_rule_then_dead_lettered_typed(
    desk: Desk,
) -> None:
    states_before = desk.ends(ESS_STATE)

    _send(desk, ESS_COMMAND, [_command(scope, "ess-names") for scope in BAD_SCOPES])

    letters = _letters(desk, ESS_COMMAND, "ess-names", len(BAD_SCOPES))
    assert len(letters) == len(BAD_SCOPES)
    assert {letter.error_type for letter in letters} == {"ValueRuleError"}
    assert all("scope:" in letter.error_message for letter in letters)
    assert desk.ends(ESS_STATE) == states_before


def test_strategy_owner_when_switch_scope_breaks_name_rule_then_dead_lettered_typed(
    desk: Desk,
) -> None:
    _send(desk, STRATEGY_SWITCHED, [_switch(scope, "switch-names") for scope in BAD_SCOPES])

    letters = _letters(desk, STRATEGY_SWITCHED, "switch-names", len(BAD_SCOPES))
    assert len(letters) == len(BAD_SCOPES)
    assert {letter.error_type for letter in letters} == {"ValueRuleError"}
    assert all("scope:" in letter.error_message for letter in letters)


def test_strategy_owner_when_switch_scope_is_a_symbol_then_dead_lettered_typed(
    desk: Desk,
) -> None:
    _send(desk, STRATEGY_SWITCHED, [_switch("symbol:BTCUSDT", "switch-symbol")])

    letters = _letters(desk, STRATEGY_SWITCHED, "switch-symbol", 1)
    assert [letter.error_type for letter in letters] == ["StrategyScopeError"]
