"""The root of every error hfos raises.

Each subpackage defines its own small exception classes under :class:`HfosError`, carrying
structured fields (topic, partition, offset, scope, version, field) so that an operator
sees what was wrong and what to do, and callers can branch on the type rather than parse
messages.
"""

from __future__ import annotations


class HfosError(Exception):
    """Base class of every error raised by hfos code."""


class ConfigError(HfosError):
    """A setting from the environment is missing or invalid.

    ``variable`` names the environment variable so that the operator can fix it.
    """

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem
