"""Strategy switches folded: newest version per scope, account over global over default."""

from __future__ import annotations

import pytest

from schemas.enums import StrategyName
from streams.ess import GLOBAL, Scope
from streams.strategy.switches import (
    StrategyBook,
    StrategyScopeError,
    Switch,
    switch_from_record,
    switch_scope,
)


def test_book_when_empty_then_default_moderate() -> None:
    assert StrategyBook().for_account("a1") is StrategyName.MODERATE
    assert StrategyBook().switch_for("a1") is None


def test_book_when_account_switched_then_it_overrides_global() -> None:
    book = StrategyBook()
    book.apply(Switch(GLOBAL, StrategyName.AGGRESSIVE, 1))
    book.apply(Switch(Scope.account("a1"), StrategyName.DEFENSIVE, 1))
    assert book.for_account("a1") is StrategyName.DEFENSIVE
    assert book.for_account("a2") is StrategyName.AGGRESSIVE


def test_book_when_older_or_repeated_switch_then_unchanged() -> None:
    book = StrategyBook()
    assert book.apply(Switch(GLOBAL, StrategyName.CONSERVATIVE, 2))
    assert not book.apply(Switch(GLOBAL, StrategyName.CONSERVATIVE, 2))
    assert not book.apply(Switch(GLOBAL, StrategyName.AGGRESSIVE, 1))
    assert book.for_account("x") is StrategyName.CONSERVATIVE
    assert book.next_version(GLOBAL) == 3


def test_book_when_two_switches_share_a_version_then_the_later_one_as_compaction_keeps() -> None:
    first = Switch(GLOBAL, StrategyName.CONSERVATIVE, 2, by="alice")
    second = Switch(GLOBAL, StrategyName.AGGRESSIVE, 2, by="bob")
    live = StrategyBook()
    live.apply(first)
    assert live.apply(second)
    compacted = StrategyBook()  # a restart after compaction kept only the last record
    compacted.apply(second)
    assert live.for_account("x") is compacted.for_account("x") is StrategyName.AGGRESSIVE


@pytest.mark.parametrize("text", ["strategy:moderate", "symbol:BTC", "galaxy", "global:x"])
def test_scope_when_not_global_or_account_then_refused_naming_it(text: str) -> None:
    with pytest.raises(Exception, match=text.split(":")[0]):
        switch_scope(text)


def test_scope_when_strategy_scope_then_typed_error() -> None:
    with pytest.raises(StrategyScopeError, match="global or account"):
        switch_scope("strategy:moderate")


def test_record_when_read_then_switch() -> None:
    record = {
        "envelope": {"event_time": 5},
        "scope": "account:a1",
        "strategy": "defensive",
        "version": 3,
        "by": "ops",
        "reason": "vol",
    }
    switch = switch_from_record(record)
    assert (switch.scope, switch.strategy, switch.version) == (
        Scope.account("a1"),
        StrategyName.DEFENSIVE,
        3,
    )
