"""The demo's errors: each names what could not be done and what to look at."""

from __future__ import annotations

from schemas.errors import HfosError


class DemoError(HfosError):
    """Base of every error of ``hfos demo``."""


class ReadBackError(DemoError):
    """Partitions that did not report their end in time."""

    def __init__(self, unread: list[tuple[str, int]], timeout: float) -> None:
        shown = ", ".join(f"{t}[{p}]" for t, p in unread[:5])
        super().__init__(
            f"{len(unread)} partitions not read to their end in {timeout:g} s: {shown}"
        )
        self.unread = unread


class DeskStartError(DemoError):
    """A service of a scenario's desk that did not start; ``tail`` is the end of its log."""

    def __init__(self, scenario: str, problem: str, tail: str) -> None:
        super().__init__(f"scenario {scenario}: {problem}")
        self.scenario = scenario
        self.problem = problem
        self.tail = tail
