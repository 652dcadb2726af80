"""Errors of the local stack, each naming the part that failed."""

from __future__ import annotations

from schemas.errors import HfosError


class StackError(HfosError):
    """A part of the local stack could not be installed or started.

    ``part`` is ``kafka``, ``registry`` or ``redis``; ``log_tail`` holds the last lines of
    that part's log so the operator sees why without hunting for the file.
    """

    def __init__(self, part: str, problem: str, log_tail: str = "") -> None:
        message = f"{part}: {problem}"
        if log_tail:
            message += f"\n--- last lines of the {part} log ---\n{log_tail}"
        super().__init__(message)
        self.part = part
        self.problem = problem
        self.log_tail = log_tail


class InstallError(StackError):
    """A download or package install that the stack needs failed."""
