"""Which strategy is in force where: the ``strategy.switched`` records, folded.

A switch names a scope: ``global`` or ``account:<id>``. An account's strategy is its own
switch if it has one, else the global one, else the default (moderate). Versions count per
scope from 1; a record with an older version than the one held changes nothing.

Two records can carry the same version: ``hfos strategy switch`` picks "held + 1", and two
operators switching at once both pick it. The LAST of them in the log is in force, which
is what compaction keeps (the topic is keyed by scope): a process that read both live and
one that replays the compacted topic after a restart hold the same switch. (First-wins
would leave them disagreeing once the first record was compacted away.) A record read
twice changes nothing either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.enums import ScopeKind, StrategyName
from streams.ess.scope import GLOBAL, Scope
from streams.strategy.exceptions import StrategyError
from streams.strategy.presets import DEFAULT_STRATEGY


class StrategyScopeError(StrategyError):
    """A strategy switch for a scope strategies are not set on."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"scope {scope!r} refused: a strategy is set for global or account:<id>")
        self.scope = scope


@dataclass(frozen=True)
class Switch:
    """One ``strategy.switched`` record, as the book needs it."""

    scope: Scope
    strategy: StrategyName
    version: int
    by: str = ""
    reason: str = ""
    event_time: int = 0


def switch_scope(text: str) -> Scope:
    """``text`` as a scope a strategy can be switched on (:class:`StrategyScopeError`)."""
    scope = Scope.parse(text)
    if scope.kind not in (ScopeKind.GLOBAL, ScopeKind.ACCOUNT):
        raise StrategyScopeError(text)
    return scope


@dataclass
class StrategyBook:
    """The newest switch of every scope."""

    switches: dict[Scope, Switch] = field(default_factory=dict)

    def apply(self, switch: Switch) -> bool:
        """Hold ``switch`` unless the scope's is newer; True when it changed the book."""
        held = self.switches.get(switch.scope)
        if held is not None and (held.version > switch.version or held == switch):
            return False
        self.switches[switch.scope] = switch
        return True

    def for_account(self, account_id: str) -> StrategyName:
        """The strategy an account's next decision is made under."""
        switch = self.switch_for(account_id)
        return DEFAULT_STRATEGY if switch is None else switch.strategy

    def switch_for(self, account_id: str) -> Switch | None:
        """The switch in force for an account (its own, else global); None: the default."""
        return self.switches.get(Scope.account(account_id)) or self.switches.get(GLOBAL)

    def next_version(self, scope: Scope) -> int:
        held = self.switches.get(scope)
        return 1 if held is None else held.version + 1

    def current(self) -> Mapping[Scope, Switch]:
        return dict(self.switches)


def switch_from_record(record: Mapping[str, object]) -> Switch:
    envelope = record.get("envelope")
    event_time = envelope.get("event_time", 0) if isinstance(envelope, Mapping) else 0
    return Switch(
        scope=switch_scope(str(record["scope"])),
        strategy=StrategyName(str(record["strategy"])),
        version=int(str(record["version"])),
        by=str(record.get("by", "")),
        reason=str(record.get("reason", "")),
        event_time=int(str(event_time)),
    )
