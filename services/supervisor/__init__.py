"""Self-healing supervision (SPEC §7): the pure backoff core and failure episodes."""

from services.supervisor.backoff import (
    DEFAULT_POLICY,
    BackoffPolicy,
    Exhausted,
    Phase,
    RandomSource,
    Retry,
    Supervision,
    on_failure,
    on_success,
)
from services.supervisor.episode import (
    Context,
    Episode,
    Escalation,
    Line,
    Rules,
    Step,
    attempt_failed,
    observe_failure,
    observe_healthy,
    restart_observed,
    tick,
)
from services.supervisor.exceptions import (
    BackoffConfigError,
    EpisodeRulesError,
    RandomSourceError,
    SupervisorError,
)

__all__ = [
    "DEFAULT_POLICY",
    "BackoffConfigError",
    "BackoffPolicy",
    "Context",
    "Episode",
    "EpisodeRulesError",
    "Escalation",
    "Exhausted",
    "Line",
    "Phase",
    "RandomSource",
    "RandomSourceError",
    "Retry",
    "Rules",
    "Step",
    "Supervision",
    "SupervisorError",
    "attempt_failed",
    "observe_failure",
    "observe_healthy",
    "on_failure",
    "on_success",
    "restart_observed",
    "tick",
]
