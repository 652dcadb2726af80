"""Producing events from JSON lines (``hfos topics produce``), all or nothing.

Every line is parsed, converted, encoded and rule-checked before anything is sent; the
first bad line refuses the whole batch with its line number and field, so an operator
never ends up with half a batch on a topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.catalogue import TopicNames
from schemas.contracts import contract
from schemas.errors import HfosError
from schemas.serde import AvroSerde, RecordValidationError
from schemas.values import JsonValueError, from_json, rule_problems
from services.bus.producer import EventProducer


class BatchLineError(HfosError):
    """Line ``line`` of a batch is invalid; nothing of the batch was sent."""

    def __init__(self, line: int, field: str, problem: str) -> None:
        where = f"line {line}" + (f", field {field}" if field else "")
        super().__init__(f"{where}: {problem} — nothing was sent")
        self.line = line
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Prepared:
    key: str | None
    value: bytes


def prepare(
    lines: Iterable[str], topic: str, names: TopicNames, serde: AvroSerde, key_field: str | None
) -> list[Prepared]:
    """Validate and encode every line; raise :class:`BatchLineError` at the first bad one."""
    spec = names.spec_of(topic)
    target = contract(spec, names)
    prepared = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        key, value = _split(number, text, key_field)
        try:
            record = from_json(target.schema_name, value)
            encoded = serde.encode(target, record)
        except JsonValueError as error:
            raise BatchLineError(number, error.path, error.problem) from None
        except RecordValidationError as error:
            raise BatchLineError(number, ", ".join(error.fields), error.problem) from None
        problems = rule_problems(target.schema_name, record)
        if problems:
            field, _, problem = problems[0].partition(": ")
            raise BatchLineError(number, field, problem)
        prepared.append(Prepared(key, encoded))
    return prepared


def _split(number: int, text: str, key_field: str | None) -> tuple[str | None, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BatchLineError(
            number, "", f"not JSON ({error.msg} at column {error.colno})"
        ) from None
    if not isinstance(data, dict):
        raise BatchLineError(number, "", "expected a JSON object")
    if "value" in data:  # the shape `hfos topics tail` prints
        key = data.get("key")
        return (None if key is None else str(key)), data["value"]
    if key_field is None:
        raise BatchLineError(number, "key", 'give {"key": …, "value": {…}} or --key-field')
    if key_field not in data:
        raise BatchLineError(number, key_field, "missing (named by --key-field)")
    return str(data[key_field]), data


def send(producer: EventProducer, topic: str, batch: list[Prepared]) -> int:
    """Send a prepared batch and wait for every acknowledgement."""
    for item in batch:
        producer.send_raw(topic, item.key, item.value)
    remaining = producer.flush(60.0)
    if remaining:
        raise HfosError(f"{remaining} of {len(batch)} events not acknowledged within 60 s")
    return len(batch)
