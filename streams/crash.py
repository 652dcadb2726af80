"""The first crash of a stream worker, kept for its last words.

mode logs ``Crashed reason=…`` with the traceback when a service or an agent crashes, then
stops every service; the shutdown that follows logs its own noise (``Event loop is
closed`` and the like), so the end of a crashed worker's log used to hide the cause. The
recorder keeps the first crash and :func:`last_words` states it once more as the final
line the worker writes, which is what a supervisor shows of a log (``hfos up`` shows its
tail; ``kubectl logs --previous`` the same).
"""

from __future__ import annotations

import logging
import traceback

CRASH_PREFIX = "Crashed reason="
LAST_WORDS_PREFIX = "hfos worker: stopped by a crash:"
"""Every worker that stops after a crash ends its log with a line starting so."""


class CrashRecorder(logging.Handler):
    """A logging handler that keeps the first record announcing a crash."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.first: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.first is None and CRASH_PREFIX in str(record.msg):
            self.first = record


def last_words(record: logging.LogRecord) -> str:
    """One line: the exception and where it was raised (the innermost frame)."""
    error = record.exc_info[1] if record.exc_info else None
    if error is None:
        return f"{LAST_WORDS_PREFIX} {record.getMessage()}"
    frames = traceback.extract_tb(error.__traceback__)
    # The innermost frame of hfos's own code says where to look; a library's frame, what
    # refused. Both, when they differ.
    ours = [f for f in frames if "site-packages" not in f.filename]
    places = [f for f in (ours[-1] if ours else None, frames[-1] if frames else None) if f]
    where = " <- ".join(dict.fromkeys(f"{f.filename}:{f.lineno} in {f.name}" for f in places))
    at = f" at {where}" if where else ""
    return f"{LAST_WORDS_PREFIX} {type(error).__name__}: {error}{at}"
