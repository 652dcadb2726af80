"""Errors of the policy store's readers and writers."""

from __future__ import annotations

from schemas.errors import HfosError
from services.bus.commands import CommandRefusedError, NoAnswerError

__all__ = ["CommandRefusedError", "NoAnswerError", "PolicyUnavailableError"]


class PolicyUnavailableError(HfosError):
    """No valid policy can be read: new risk must be refused (fail closed)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"no valid policy available: {problem}")
        self.problem = problem
