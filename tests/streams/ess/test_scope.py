"""Scopes parse from their wire form and refuse anything else with a typed error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enums import EssState, ScopeKind, StrategyName
from streams.ess import GLOBAL, Scope, ScopeError, ScopeState, effective_state, scopes_for_order


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("global", ScopeKind.GLOBAL, ""),
        ("account:acc-1", ScopeKind.ACCOUNT, "acc-1"),
        ("account:desk@fund/7", ScopeKind.ACCOUNT, "desk@fund/7"),
        ("symbol:BTC/USDT", ScopeKind.SYMBOL, "BTC/USDT"),
        ("strategy:moderate", ScopeKind.STRATEGY, "moderate"),
        ("symbol:BTCUSDT", ScopeKind.SYMBOL, "BTCUSDT"),
    ],
)
def test_parse_when_well_formed_then_kind_and_name(text: str, kind: ScopeKind, name: str) -> None:
    scope = Scope.parse(text)
    assert (scope.kind, scope.name) == (kind, name)
    assert str(scope) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "planet:earth",
        "account:",
        "account:has space",
        "global:x",
        "strategy:yolo",
        "GLOBAL",
        "account::",
        "account:a:b",
        "account:\x1b[31mRED",
        "account:\u200b",
        "account:x\u202eevil",
        "account:\x7f",
        "symbol:BTC\x08",
        "account:" + "x" * 65,
    ],
)
def test_parse_when_malformed_then_scope_error_names_the_input(text: str) -> None:
    with pytest.raises(ScopeError) as raised:
        Scope.parse(text)
    assert raised.value.text == text
    assert ascii(text[:40]) in str(raised.value)
    assert str(raised.value).isascii()  # nothing in the message a terminal interprets


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([ScopeKind.ACCOUNT, ScopeKind.SYMBOL]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+/-]{0,63}", fullmatch=True),
)
def test_parse_when_rendered_scope_then_round_trips(kind: ScopeKind, name: str) -> None:
    """Any valid scope parses back from its own text."""
    scope = Scope(kind, name)
    assert Scope.parse(str(scope)) == scope


def test_scopes_for_order_when_built_then_broadest_first() -> None:
    scopes = scopes_for_order("acc-1", StrategyName.MODERATE, "BTC")
    assert [str(scope) for scope in scopes] == [
        "global",
        "account:acc-1",
        "strategy:moderate",
        "symbol:BTC",
    ]


def test_effective_when_no_scope_known_then_armed_at_version_zero() -> None:
    found = effective_state({}, scopes_for_order("acc-1", StrategyName.MODERATE, "BTC"))
    assert (found.scope, found.state, found.version) == (GLOBAL, EssState.ARMED, 0)


def test_effective_when_one_scope_tripped_then_tripped_wins() -> None:
    account = Scope.account("acc-1")
    states = {
        GLOBAL: ScopeState(GLOBAL, EssState.REDUCING, 4),
        account: ScopeState(account, EssState.TRIPPED, 2),
    }
    found = effective_state(states, scopes_for_order("acc-1", StrategyName.MODERATE, "BTC"))
    assert (found.scope, found.state, found.version) == (account, EssState.TRIPPED, 2)


def test_effective_when_other_account_tripped_then_this_order_unaffected() -> None:
    other = Scope.account("acc-2")
    states = {other: ScopeState(other, EssState.TRIPPED, 1)}
    found = effective_state(states, scopes_for_order("acc-1", StrategyName.MODERATE, "BTC"))
    assert found.state is EssState.ARMED


def test_effective_when_disabled_scope_and_armed_global_then_armed() -> None:
    symbol = Scope.symbol("BTC")
    states = {symbol: ScopeState(symbol, EssState.DISABLED, 1)}
    assert effective_state(states, [GLOBAL, symbol]).state is EssState.ARMED
