"""The judges of scenarios 4 and 6 over events recorded from a real run (``hfos demo
--record``, trimmed to the topics they read): PASS as recorded, and FAIL naming the broken
behaviour when the events are those of a broken breaker, executor or ESS. No servers."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.catalogue import CIRCUIT_BREAKER_TRIGGERED, ESS_TRANSITION, ORDER_REJECTED
from services.demo.events import EventLog
from services.demo.model import Event, Facts, Judgement
from services.demo.record import read_record
from services.demo.scenarios import SCENARIOS

RECORDED = Path(__file__).parent / "recorded"


def _judge(number: int, log: EventLog, facts: Facts) -> Judgement:
    scenario = next(s for s in SCENARIOS if s.number == number)
    return scenario.judge(log, facts)


def _recorded(number: int) -> tuple[EventLog, Facts]:
    name = {4: "4-underperforming", 6: "6-black-swan"}[number]
    return read_record(RECORDED / f"{name}.json.gz")


def _edited(log: EventLog, edit: Callable[[Event], list[Event]]) -> EventLog:
    """The log with each event replaced by what ``edit`` makes of it."""
    return EventLog(made for event in log.every() for made in edit(event))


def _with(event: Event, **fields: Any) -> Event:
    return dataclasses.replace(event, value={**event.value, **fields})


def _let_through(event: Event) -> Event:
    """An ESS_TRIPPED refusal turned into the order an executor ignoring TRIPPED makes."""
    return dataclasses.replace(
        event,
        topic="order.requested",
        value={
            **event.value,
            "order_id": f"let-through-{event['signal_id']}",
            "side": "BUY",
            "quantity": 1.0,
            "price": 100.0,
            "notional": 100.0,
            "leverage": 1.0,
            "reduce_only": False,
            "ess_state": "TRIPPED",
            "ess_version": 1,
        },
    )


def _refusals_let_through(log: EventLog) -> EventLog:
    return _edited(
        log,
        lambda e: (
            [_let_through(e)]
            if e.topic == ORDER_REJECTED.name and e["reason"] == "ESS_TRIPPED"
            else [e]
        ),
    )


@pytest.mark.parametrize("number", [4, 6])
def test_judge_when_run_as_recorded_then_pass(number: int) -> None:
    log, facts = _recorded(number)

    judgement = _judge(number, log, facts)

    assert judgement.failures == []
    assert judgement.status.value == "PASS"


def test_scenario4_when_breaker_never_latches_then_fail_names_the_latch() -> None:
    """A breaker that fires again on every deeper breach, instead of once per episode."""
    log, facts = _recorded(4)

    def fires_again(e: Event) -> list[Event]:
        if e.topic != CIRCUIT_BREAKER_TRIGGERED.name:
            return [e]
        envelope = {**e["envelope"], "event_id": str(uuid.uuid4())}
        envelope["event_time"] = e.at + 500
        return [e, dataclasses.replace(_with(e, envelope=envelope), offset=e.offset + 1)]

    judgement = _judge(4, _edited(log, fires_again), facts)

    assert judgement.status.value == "FAIL"
    assert any("breaker latch" in f for f in judgement.failures), judgement.failures


def test_scenario4_when_executor_lets_an_open_through_under_tripped_then_fail_names_it() -> None:
    log, facts = _recorded(4)

    judgement = _judge(4, _refusals_let_through(log), facts)

    assert any("executor under TRIPPED" in f for f in judgement.failures), judgement.failures


def test_scenario6_when_executor_lets_an_open_through_under_tripped_then_fail_names_it() -> None:
    log, facts = _recorded(6)

    judgement = _judge(6, _refusals_let_through(log), facts)

    assert judgement.status.value == "FAIL"
    assert any("executor under TRIPPED" in f for f in judgement.failures), judgement.failures


def test_scenario6_when_tripped_ends_without_operator_reset_then_fail_names_sticky() -> None:
    """An ESS whose TRIPPED times out on its own (COOLDOWN_ELAPSED, 1 s after the trip)."""
    log, facts = _recorded(6)
    trips = {e["scope"]: e.at for e in log.transitions() if e["state"] == "TRIPPED"}

    def times_out(e: Event) -> list[Event]:
        if e.topic == ESS_TRANSITION.name and e["state"] == "COOLING_DOWN":
            at = trips[e["scope"]] + 1000
            return [
                _with(e, trigger="COOLDOWN_ELAPSED", envelope={**e["envelope"], "event_time": at})
            ]
        return [e]

    judgement = _judge(6, _edited(log, times_out), facts)

    assert judgement.status.value == "FAIL"
    assert any("sticky TRIPPED" in f for f in judgement.failures), judgement.failures


def test_scenario6_when_closes_blocked_under_tripped_then_fail_names_the_executor() -> None:
    log, facts = _recorded(6)
    tripped_closes = {
        d.signal_id
        for d in log.decisions()
        if d.action == "CLOSE" and d.event.get("ess_state") == "TRIPPED"
    }

    def blocked(e: Event) -> list[Event]:
        if e.topic == "order.requested" and e["signal_id"] in tripped_closes:
            value = {
                **e.value,
                "action": "CLOSE",
                "confidence": 0.9,
                "reason": "ESS_TRIPPED",
                "detail": "closes blocked too",
            }
            return [dataclasses.replace(e, topic=ORDER_REJECTED.name, value=value)]
        return [e]

    judgement = _judge(6, _edited(log, blocked), facts)

    assert tripped_closes
    assert any("closes blocked under TRIPPED (executor)" in f for f in judgement.failures), (
        judgement.failures
    )
