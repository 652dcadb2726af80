"""The envelope every event carries (SPEC §0), built in one place."""

from __future__ import annotations

import uuid
from typing import Any


def envelope(
    producer: str,
    now_ms: int,
    *,
    event_id: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> dict[str, Any]:
    """An ``hfos.Envelope``: a fresh event id unless a deterministic one is given (an
    effect derived from a cause passes ``schemas.ids.derived_id(...)``)."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_time": now_ms,
        "producer": producer,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
    }
