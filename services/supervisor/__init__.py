"""Self-healing supervision (SPEC §7). So far: the pure backoff core."""

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
from services.supervisor.exceptions import BackoffConfigError, RandomSourceError, SupervisorError

__all__ = [
    "DEFAULT_POLICY",
    "BackoffConfigError",
    "BackoffPolicy",
    "Exhausted",
    "Phase",
    "RandomSource",
    "RandomSourceError",
    "Retry",
    "Supervision",
    "SupervisorError",
    "on_failure",
    "on_success",
]
