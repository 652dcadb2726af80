"""Errors of the emergency stop's pure core; each names the scope and what to do."""

from __future__ import annotations

from schemas.errors import HfosError
from schemas.names import shown


class EssError(HfosError):
    """Base of every emergency-stop error."""


class ScopeError(EssError):
    """Text that is not a scope (``global``, ``account:<id>``, ``strategy:<name>``,
    ``symbol:<sym>``)."""

    def __init__(self, text: str, problem: str) -> None:
        super().__init__(
            f"scope {shown(text)}: {problem}; write global, account:<id>, strategy:<name> "
            "or symbol:<sym>"
        )
        self.text = text
        self.problem = problem


class StaleCommandError(EssError):
    """Compare-and-set failed: the sender saw an older version of the scope's state."""

    def __init__(self, scope: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{scope}: command expected state version {expected}, current is {actual}; "
            "nothing changed — re-read the state (hfos ess status) and resend"
        )
        self.scope = scope
        self.expected = expected
        self.actual = actual


class IncompleteCommandError(EssError):
    """A command lacks a field it must carry (who, why, which version)."""

    def __init__(self, command_id: str, field: str) -> None:
        super().__init__(f"ess command {command_id!r}: {field} is required")
        self.command_id = command_id
        self.field = field


class CommandRefusedError(EssError):
    """A well-formed command that the scope's state or the configuration does not allow."""

    def __init__(self, scope: str, kind: str, state: str, problem: str) -> None:
        super().__init__(f"{scope}: {kind} refused in state {state}: {problem}")
        self.scope = scope
        self.kind = kind
        self.state = state
        self.problem = problem


class TriggerError(EssError):
    """A system trigger the ESS cannot apply (not a system trigger, bad target, no cause)."""

    def __init__(self, trigger: str, problem: str) -> None:
        super().__init__(f"trigger {trigger}: {problem}")
        self.trigger = trigger
        self.problem = problem
