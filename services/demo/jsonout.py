"""A scenario's result as JSON (``hfos demo --json``): times ISO-8601 UTC, offsets in ms."""

from __future__ import annotations

from typing import Any

from schemas.values import iso_millis
from services.demo.runner import Result


def as_json(result: Result) -> dict[str, Any]:
    j, zero = result.judgement, result.facts.started
    return {
        "scenario": result.scenario.number,
        "title": result.scenario.title,
        "status": j.status.value,
        "reason": j.reason,
        "seconds": round(result.seconds, 1),
        "topic_prefix": result.prefix,
        "checks": j.checks,
        "failures": j.failures,
        "latencies_ms": [
            {
                "name": latency.name,
                "count": latency.count,
                "p50": latency.quantile(0.5),
                "p99": latency.quantile(0.99),
                "max": latency.worst,
                "bound": latency.bound_ms,
            }
            for latency in j.latencies
        ],
        "timeline": [
            {
                "at": iso_millis(line.at),
                "offset_ms": line.at - zero if zero else None,
                "topic": line.topic,
                "text": line.text,
            }
            for line in j.timeline
        ],
    }
