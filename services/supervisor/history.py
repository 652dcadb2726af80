"""Reading the recovery history back: ``system.recovery`` from a time on, to its end.

Only committed lines are read (the supervisor writes in transactions). ``since`` is
either an ISO-8601 time (``2026-11-25T10:00:00Z``) or an age (``90s``, ``15m``, ``2h``,
``7d``); the topic keeps 30 days.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from schemas.catalogue import SYSTEM_RECOVERY, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from schemas.values import iso_millis
from services.bus.ends import log_ends, log_starts, read_to_ends
from services.bus.exceptions import BusError
from services.bus.producer import LIBRDKAFKA_LOG
from services.supervisor.exceptions import HistoryError

_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TIMEOUT = 30.0


def parse_since(text: str, now_ms: int) -> int:
    """``text`` as epoch ms: an ISO-8601 time (UTC if it names no zone) or an age."""
    cleaned = text.strip()
    age = _AGE.fullmatch(cleaned)
    if age:
        return now_ms - round(float(age[1]) * _UNIT_MS[age[2]])
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise HistoryError(
            f"--since {text!r}: give an ISO-8601 time (2026-11-25T10:00:00Z) or an age "
            "(90s, 15m, 2h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def read_history(
    client_config: Mapping[str, str],
    serde: AvroSerde,
    names: TopicNames,
    *,
    since_ms: int = 0,
    subsystem: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Every committed line from ``since_ms`` to the end the topic has now, in order —
    including a transaction that has just committed (:mod:`services.bus.ends`)."""
    target = contract(SYSTEM_RECOVERY, names)
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"hfos-recovery-history-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "logger": LIBRDKAFKA_LOG,
        }
    )
    try:
        starts = _start(consumer, client_config, target.topic, since_ms)
        ends = log_ends(client_config, starts)
        for message in read_to_ends(consumer, starts, ends, _TIMEOUT):
            try:
                line = serde.decode(target, message.value())
            except SerdeError:
                continue  # dead-lettered by nobody: it is not a line of ours
            # A line is produced after it happened (later still if it waited out a broker
            # outage): the start by produce time skips only lines older than ``since``.
            if subsystem in (None, line["subsystem"]) and (
                int(line["envelope"]["event_time"]) >= since_ms
            ):
                yield line
    except BusError as error:
        raise HistoryError(f"{target.topic}: {error}") from error
    finally:
        consumer.close()


def _start(
    consumer: Consumer, client_config: Mapping[str, str], topic: str, since_ms: int
) -> list[TopicPartition]:
    found = consumer.list_topics(topic, timeout=_TIMEOUT).topics.get(topic)
    if found is None or found.error is not None:
        raise HistoryError(f"{topic} is missing: provision it (hfos topics create)")
    partitions = [TopicPartition(topic, p) for p in sorted(found.partitions)]
    return log_starts(client_config, partitions, since_ms)


def as_json(line: Mapping[str, Any]) -> dict[str, Any]:
    """A line as JSON-able data: flat, times as ISO-8601, ids kept."""
    envelope = line["envelope"]
    return {
        "at": iso_millis(int(envelope["event_time"])),
        "event_id": envelope["event_id"],
        **{key: value for key, value in line.items() if key != "envelope"},
    }


def as_text(line: Mapping[str, Any]) -> str:
    """A line as one row: time, subsystem, episode, attempt, outcome, delay, the rest."""
    delay = f"{line['delay_ms'] / 1000:7.3f} s" if line["delay_ms"] else " " * 9
    extra = []
    if line.get("escalated_to"):
        extra.append(f"-> {line['escalated_to']}")
    if line.get("error"):
        extra.append(str(line["error"]))
    critical = "critical" if line["critical"] else ""
    return (
        f"{iso_millis(int(line['envelope']['event_time']))}  {line['subsystem']:22} "
        f"ep {line['episode']:<4} #{line['attempt']}  {line['outcome']:17} {delay}  "
        f"{line.get('action') or '-':13} {critical:8} {' '.join(extra)}"
    ).rstrip()
