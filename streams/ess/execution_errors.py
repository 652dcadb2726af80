"""The execution-error trigger: >= 5 errors within 15 minutes asks for REDUCING (SPEC §4).

A pure sliding window over injected timestamps (epoch ms). Only the newest ``threshold``
errors matter — the window trips exactly when the oldest of them lies within ``span_ms``
of the newest — so the state stays bounded however many errors arrive.

Each error carries an id (the failed order's id), so an order counts once however often
its failure is delivered: a copy of an error still in the window is recognised by its
id, and a copy of one that has left it sorts below everything the window keeps and is
dropped again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ERROR_THRESHOLD = 5
ERROR_WINDOW_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class ErrorWindow:
    """The newest errors as ``(at, error_id)``, ascending."""

    errors: tuple[tuple[int, str], ...] = ()

    def to_json(self) -> list[list[int | str]]:
        return [[at, error_id] for at, error_id in self.errors]

    @classmethod
    def from_json(cls, held: Sequence[Sequence[int | str]]) -> ErrorWindow:
        return cls(tuple(sorted((int(at), str(error_id)) for at, error_id in held)))


def record_error(
    window: ErrorWindow,
    at: int,
    error_id: str,
    *,
    threshold: int = ERROR_THRESHOLD,
    span_ms: int = ERROR_WINDOW_MS,
) -> tuple[ErrorWindow, bool]:
    """Add the error ``error_id`` that happened at ``at``.

    True when this error is new, stays among the newest ``threshold``, and ``threshold``
    errors then lie within ``span_ms`` (newest minus oldest < span). Every new error past
    the threshold reports True again: the ESS turns a repeat into a no-op, and after a
    reset a continuing burst reduces again. A redelivered error reports False.
    """
    error = (at, error_id)
    if any(held == error_id for _, held in window.errors):
        return window, False
    kept = tuple(sorted((*window.errors, error))[-threshold:])
    tripped = len(kept) == threshold and kept[-1][0] - kept[0][0] < span_ms
    return ErrorWindow(kept), tripped and error in kept
