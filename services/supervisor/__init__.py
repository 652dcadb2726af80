"""Self-healing supervision (SPEC §7): failure episodes with backoff, a recovery history
on ``system.recovery``, and escalation to the emergency stop.

The pure core is :mod:`.backoff` (the schedule) and :mod:`.episode` (one subsystem's
episodes); the edges are the probes, the recovery actions, the journal and the loop.
"""

from services.supervisor.backoff import DEFAULT_POLICY, BackoffPolicy, RandomSource
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
    "Line",
    "RandomSource",
    "RandomSourceError",
    "Rules",
    "Step",
    "SupervisorError",
    "attempt_failed",
    "observe_failure",
    "observe_healthy",
    "restart_observed",
    "tick",
]
