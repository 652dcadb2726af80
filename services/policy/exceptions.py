"""Errors of the policy store's readers and writers."""

from __future__ import annotations

from schemas.errors import HfosError


class PolicyUnavailableError(HfosError):
    """No valid policy can be read: new risk must be refused (fail closed)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"no valid policy available: {problem}")
        self.problem = problem


class CommandRefusedError(HfosError):
    """The stream app refused a policy command; ``error_type`` is its typed reason."""

    def __init__(self, command_id: str, error_type: str, message: str) -> None:
        super().__init__(f"refused ({error_type}): {message}")
        self.command_id = command_id
        self.error_type = error_type
        self.message = message


class NoAnswerError(HfosError):
    """No stream worker answered a command in time."""

    def __init__(self, command_id: str, seconds: float) -> None:
        super().__init__(
            f"no answer to command {command_id} within {seconds:.0f} s: is a stream worker "
            "running (hfos worker) and the policy.command topic provisioned?"
        )
        self.command_id = command_id
