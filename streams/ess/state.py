"""Per-scope emergency-stop state, transitions, and the effective state of an order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from schemas.enums import EssState, EssTrigger
from streams.ess.exceptions import EssError
from streams.ess.scope import Scope

RESTRICTIVENESS: Mapping[EssState, int] = MappingProxyType(
    {
        EssState.DISABLED: 0,
        EssState.ARMED: 1,
        EssState.COOLING_DOWN: 2,
        EssState.REDUCING: 3,
        EssState.TRIPPED: 4,
    }
)
"""Higher refuses more new risk; the effective state of an order is the highest."""

RECENT_LIMIT = 64
"""Command ids and trigger causes remembered per scope for deduplication. Commands to one
scope are rare (operators, breaker trips), and a redelivery replays only the commands after
the last committed offset, so 64 covers it with room to spare."""


@dataclass(frozen=True)
class ScopeState:
    """The ``ess.state`` record of one scope, plus the ids already applied to it.

    A scope nobody has touched is ARMED at version 0 with no trigger. Times are epoch ms.
    """

    scope: Scope
    state: EssState = EssState.ARMED
    version: int = 0
    since: int = 0
    trigger: EssTrigger | None = None
    cooldown_until: int | None = None
    recent: tuple[str, ...] = ()
    by: str | None = None
    """Who or what caused the last transition; None for a scope never changed (and for
    states stored before it was recorded)."""
    reason: str | None = None
    """Why, in the words of the command or trigger that caused it."""


@dataclass(frozen=True)
class Transition:
    """The outcome of one input: ``current`` replaces ``previous`` in the table.

    ``changed`` is False for a no-op (already at least as restrictive, nothing to reset)
    and for a ``duplicate`` (an id already applied); only a changed transition is an
    ``ess.transition`` event, and its version is ``previous.version + 1``.
    """

    previous: ScopeState
    current: ScopeState
    trigger: EssTrigger | None
    by: str
    reason: str
    cause_event_id: str | None
    duplicate: bool = False

    @property
    def changed(self) -> bool:
        return self.current.version != self.previous.version


def attributed(transition: Transition) -> ScopeState:
    """The state a transition leaves, with who and why when it changed the scope: what
    ``hfos ess status`` shows and an unchanged command's answer repeats."""
    if not transition.changed:
        return transition.current
    return replace(transition.current, by=transition.by, reason=transition.reason)


def initial(scope: Scope) -> ScopeState:
    return ScopeState(scope)


def moved(
    current: ScopeState,
    state: EssState,
    trigger: EssTrigger,
    now: int,
    cooldown_until: int | None = None,
) -> ScopeState:
    """``current`` in ``state``, one version later."""
    return replace(
        current,
        state=state,
        version=current.version + 1,
        since=now,
        trigger=trigger,
        cooldown_until=cooldown_until,
    )


def remember(current: ScopeState, applied_id: str) -> ScopeState:
    return replace(current, recent=(*current.recent, applied_id)[-RECENT_LIMIT:])


def at_least(state: EssState, other: EssState) -> bool:
    """True when ``state`` refuses at least as much new risk as ``other``."""
    return RESTRICTIVENESS[state] >= RESTRICTIVENESS[other]


def effective_state(states: Mapping[Scope, ScopeState], scopes: Iterable[Scope]) -> ScopeState:
    """The most restrictive state over ``scopes``; an unknown scope is ARMED at version 0.

    Ties go to the first scope given (broadest first from
    :func:`streams.ess.scope.scopes_for_order`), so the result is deterministic.
    """
    candidates = [states.get(scope) or initial(scope) for scope in scopes]
    if not candidates:
        raise EssError("effective_state needs at least one scope")
    return max(candidates, key=lambda found: RESTRICTIVENESS[found.state])
