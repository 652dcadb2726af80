"""The execution-error trigger: >= 5 errors within 15 minutes asks for REDUCING (SPEC §4).

A pure sliding window over injected timestamps (epoch ms). Only the newest ``threshold``
timestamps matter — the window trips exactly when the oldest of them lies within
``span_ms`` of the newest — so the state stays bounded however many errors arrive.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

ERROR_THRESHOLD = 5
ERROR_WINDOW_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class ErrorWindow:
    """The newest error times, ascending."""

    times: tuple[int, ...] = ()


def record_error(
    window: ErrorWindow,
    at: int,
    *,
    threshold: int = ERROR_THRESHOLD,
    span_ms: int = ERROR_WINDOW_MS,
) -> tuple[ErrorWindow, bool]:
    """Add an error at ``at``; True while ``threshold`` errors lie within ``span_ms``
    (newest minus oldest < span). Every error past the threshold reports True again: the
    ESS turns a repeat into a no-op, and after a reset a continuing burst re-reduces."""
    times = list(window.times)
    bisect.insort(times, at)
    kept = tuple(times[-threshold:])
    return ErrorWindow(kept), len(kept) == threshold and kept[-1] - kept[0] < span_ms
