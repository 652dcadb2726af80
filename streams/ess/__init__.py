"""Emergency stop core (SPEC §4): scopes, per-scope states, commands, triggers, timers.

Pure: the Faust agent owning ``ess.state`` calls these functions with the scope's current
record and the time, stores ``Transition.current`` and publishes changed transitions.
"""

from streams.ess.commands import EssCommand, apply_command, remember_refused
from streams.ess.exceptions import (
    CommandRefusedError,
    EssError,
    IncompleteCommandError,
    ScopeError,
    StaleCommandError,
    TriggerError,
)
from streams.ess.execution_errors import (
    ERROR_THRESHOLD,
    ERROR_WINDOW_MS,
    ErrorWindow,
    record_error,
)
from streams.ess.scope import GLOBAL, Scope, scopes_for_order
from streams.ess.state import (
    RECENT_LIMIT,
    RESTRICTIVENESS,
    ScopeState,
    Transition,
    at_least,
    effective_state,
    initial,
)
from streams.ess.triggers import DEFAULT_TARGETS, apply_trigger, end_cooldown, tick

__all__ = [
    "DEFAULT_TARGETS",
    "ERROR_THRESHOLD",
    "ERROR_WINDOW_MS",
    "GLOBAL",
    "RECENT_LIMIT",
    "RESTRICTIVENESS",
    "CommandRefusedError",
    "ErrorWindow",
    "EssCommand",
    "EssError",
    "IncompleteCommandError",
    "Scope",
    "ScopeError",
    "ScopeState",
    "StaleCommandError",
    "Transition",
    "TriggerError",
    "apply_command",
    "apply_trigger",
    "at_least",
    "effective_state",
    "end_cooldown",
    "initial",
    "record_error",
    "remember_refused",
    "scopes_for_order",
    "tick",
]
