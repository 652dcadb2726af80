"""Emergency-stop scopes: ``global``, ``account:<id>``, ``strategy:<name>``, ``symbol:<sym>``."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.enums import ScopeKind, StrategyName
from schemas.names import name_problem
from streams.ess.exceptions import ScopeError

_STRATEGY_NAMES = frozenset(name.value for name in StrategyName)
_STRATEGIES = ", ".join(name.value for name in StrategyName)


def _check_name(kind: ScopeKind, name: str, text: str) -> None:
    if kind is ScopeKind.GLOBAL:
        if name:
            raise ScopeError(text, "global takes no name")
        return
    problem = name_problem(name)
    if problem is not None:
        raise ScopeError(text, f"the {kind} name {problem}")
    if kind is ScopeKind.STRATEGY and name not in _STRATEGY_NAMES:
        raise ScopeError(text, f"unknown strategy {name!r} (one of {_STRATEGIES})")


@dataclass(frozen=True, order=True)
class Scope:
    """One scope; ``str(scope)`` is its wire form and the key of its ``ess.*`` records."""

    kind: ScopeKind
    name: str = ""

    def __post_init__(self) -> None:
        _check_name(self.kind, self.name, str(self))

    def __str__(self) -> str:
        return self.kind.value if self.kind is ScopeKind.GLOBAL else f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``text`` as a scope, or :class:`ScopeError` naming it."""
        head, separator, name = text.partition(":")
        try:
            kind = ScopeKind(head)
        except ValueError:
            raise ScopeError(text, f"unknown scope kind {head!r}") from None
        if kind is ScopeKind.GLOBAL and separator:
            raise ScopeError(text, "global takes no name")
        return cls(kind, name)

    @classmethod
    def account(cls, account_id: str) -> Scope:
        return cls(ScopeKind.ACCOUNT, account_id)

    @classmethod
    def strategy(cls, strategy: StrategyName) -> Scope:
        return cls(ScopeKind.STRATEGY, strategy.value)

    @classmethod
    def symbol(cls, symbol: str) -> Scope:
        return cls(ScopeKind.SYMBOL, symbol)


GLOBAL = Scope(ScopeKind.GLOBAL)


def scopes_for_order(account_id: str, strategy: StrategyName, symbol: str) -> tuple[Scope, ...]:
    """Every scope an order touches, broadest first (the order ties are broken in)."""
    return (GLOBAL, Scope.account(account_id), Scope.strategy(strategy), Scope.symbol(symbol))
