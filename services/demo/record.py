"""A scenario's run as data: the events read back and the script's facts, written to one
gzipped JSON file (``hfos demo --record``) and read again, so that a judge can be run — and
its verdict on a broken behaviour shown — without the servers (tests/services/demo)."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

from services.demo.events import EventLog
from services.demo.model import Event, Facts, OperatorRun, PolicyReadSample

RECORD = "record.json.gz"


def write_record(path: Path, events: EventLog, facts: Facts) -> Path:
    data = {
        "facts": dataclasses.asdict(facts),
        "events": [_event(e) for e in events.every()],
    }
    with gzip.open(path, "wt", encoding="utf-8") as sink:
        json.dump(data, sink, default=_plain)
    return path


def read_record(path: Path) -> tuple[EventLog, Facts]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        data = json.load(source)
    raw = data["facts"]
    facts = Facts(
        **{
            **raw,
            "parts": tuple(raw["parts"]),
            "operator": [OperatorRun(**{**r, "argv": tuple(r["argv"])}) for r in raw["operator"]],
            "policy_reads": [PolicyReadSample(**r) for r in raw["policy_reads"]],
        }
    )
    return EventLog(Event(**e) for e in data["events"]), facts


def _event(e: Event) -> dict[str, Any]:
    return {
        "topic": e.topic,
        "partition": e.partition,
        "offset": e.offset,
        "key": e.key,
        "value": e.value,
        "logged": e.logged,
    }


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON")
