"""Errors of the supervisor: its configuration, its recovery actions, its journal."""

from __future__ import annotations

from schemas.errors import HfosError


class SupervisorError(HfosError):
    """Base of every supervisor error."""


class BackoffConfigError(SupervisorError):
    """A backoff setting outside its range; ``field`` names it."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"backoff {field}={value!r} refused: allowed {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class RandomSourceError(SupervisorError):
    """The injected random source returned a value outside [0, 1)."""

    def __init__(self, value: float) -> None:
        super().__init__(f"random source returned {value!r}, expected a float in [0, 1)")
        self.value = value


class EpisodeRulesError(SupervisorError):
    """A subsystem's supervision rule outside its range; ``field`` names it."""

    def __init__(self, subsystem: str, field: str, allowed: str) -> None:
        super().__init__(f"supervision of {subsystem!r}: {field} refused: allowed {allowed}")
        self.subsystem = subsystem
        self.field = field
        self.allowed = allowed


class JournalFencedError(SupervisorError):
    """Another supervisor of the same deployment registered the same transactional id:
    this one can no longer write, and must stop supervising."""

    def __init__(self, transactional_id: str, detail: str) -> None:
        super().__init__(
            f"another supervisor took over {transactional_id!r} ({detail}); this one stops: "
            "run one supervisor per deployment (topic prefix)"
        )
        self.transactional_id = transactional_id
        self.detail = detail


class RebuildError(SupervisorError):
    """The supervisor's own state could not be read back; it does not supervise without
    it (starting from nothing would reset every counter silently)."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(f"{topic}: {problem}")
        self.topic = topic
        self.problem = problem


class RecoveryActionError(SupervisorError):
    """A recovery action could not even be made (a spawn failed, a port is taken)."""

    def __init__(self, subsystem: str, problem: str) -> None:
        super().__init__(f"{subsystem}: {problem}")
        self.subsystem = subsystem
        self.problem = problem


class SupervisorConfigError(SupervisorError):
    """A supervisor setting outside its range; ``field`` names the setting."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"supervisor {field}={value!r} refused: allowed {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class HistoryError(SupervisorError):
    """The recovery history could not be read (or a ``--since`` not understood)."""
