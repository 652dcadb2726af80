"""Errors of ``hfos up``: a part that died or never became ready, named with its log."""

from __future__ import annotations

import signal
from pathlib import Path

from schemas.errors import HfosError
from streams.crash import LAST_WORDS_PREFIX


class UpError(HfosError):
    """Base of every ``hfos up`` error."""


class PartExitedError(UpError):
    """A part's process exited while the session needed it; ``tail`` is the end of its log."""

    def __init__(self, part: str, pid: int, code: int, log: Path, tail: str) -> None:
        cause = last_words_in(tail)
        super().__init__(
            f"{part} (pid {pid}) exited unexpectedly with {describe_exit(code)}"
            + (f" ({cause})" if cause else "")
            + f"; its log is {log}"
        )
        self.part, self.pid, self.code, self.log, self.tail = part, pid, code, log, tail


class PartNotReadyError(UpError):
    """A part did not show it was ready in time; ``tail`` is the end of its log."""

    def __init__(
        self, part: str, pid: int, seconds: float, waited_for: str, log: Path, tail: str
    ) -> None:
        super().__init__(
            f"{part} (pid {pid}) not ready after {seconds:.0f} s (waited for {waited_for}); "
            f"its log is {log}"
        )
        self.part, self.pid, self.seconds, self.log, self.tail = part, pid, seconds, log, tail


def describe_exit(code: int) -> str:
    """``exit 0``, ``exit 1`` or ``SIGKILL`` (Popen reports a signal as a negative code)."""
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def last_words_in(tail: str) -> str | None:
    """The cause a crashed worker wrote as its last words (:mod:`streams.crash`), if any."""
    for line in reversed(tail.splitlines()):
        if line.startswith(LAST_WORDS_PREFIX):
            return line.removeprefix("hfos worker: ")
    return None
