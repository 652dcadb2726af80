"""Properties of the breaker over arbitrary venue histories: any delivery order of the
venue's topics gives the produced order's verdicts (SPEC §1, delivery order), redelivery is
harmless, one trigger per episode, and the high-water mark only moves up unless an
operator rebases it."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.catalogue import ACCOUNT_UPDATED, CIRCUIT_BREAKER_RESET, TopicSpec
from services.testing.venue import Sent, VenueBook
from streams.drawdown import (
    DAY_MS,
    AccountState,
    BreachTriggered,
    DrawdownEvent,
    Effect,
    EpisodeReset,
    Reset,
    Thresholds,
    observe,
)
from streams.drawdown.binding import SOURCES, to_event
from streams.testing import START, thresholds

SETTINGS = settings(max_examples=150, deadline=None)
SYMBOLS = ("BTC", "ETH", "SOL")
money = st.floats(min_value=-2000, max_value=5000, allow_nan=False)


@dataclass(frozen=True)
class Step:
    kind: str
    amount: float
    symbol: str
    episode: int
    rebase: bool
    gap_ms: int


steps = st.builds(
    Step,
    kind=st.sampled_from(["balance", "balance_equity", "position", "close", "reset"]),
    amount=money,
    symbol=st.sampled_from(SYMBOLS),
    episode=st.integers(1, 3),
    rebase=st.booleans(),
    gap_ms=st.sampled_from([0, 1_000, 3_600_000, DAY_MS]),
)
limits = st.builds(
    lambda confirmations, drawdown, daily: thresholds(
        changes={
            "breach_confirmations": confirmations,
            "max_drawdown": drawdown,
            "max_daily_loss": daily,
        }
    ),
    st.integers(1, 3),
    st.sampled_from([0.05, 0.10, 0.5]),
    st.sampled_from([0.03, 0.05, 0.5]),
)


def venue_history(script: list[Step], *, resets: bool = True) -> list[Sent]:
    """Everything the venue (and an operator) publishes for ``script``, in that order:
    each change's ``account.updated`` with its per-kind records, and resets."""
    at = itertools.accumulate((s.gap_ms or 1 for s in script), initial=START)
    book = VenueBook(clock=at)
    sent: list[Sent] = []
    for index, step in enumerate(script):
        if step.kind == "balance":
            sent += book.balance("acc", step.amount)
        elif step.kind == "balance_equity":
            sent += book.balance("acc", step.amount, step.amount - 10)
        elif step.kind == "position":
            sent += book.position("acc", step.symbol, step.amount / 10)
        elif step.kind == "close":
            sent += book.close("acc", step.symbol, step.amount / 10)
        elif resets:
            sent.append((CIRCUIT_BREAKER_RESET, "acc", _reset(index, step)))
    return sent


def _reset(index: int, step: Step) -> dict[str, object]:
    return {
        "envelope": {"event_id": f"reset-{index}", "event_time": START + index},
        "account_id": "acc",
        "episode": step.episode,
        "by": "op",
        "reason": "why",
        "rebase_peak": step.rebase,
    }


def breaker_events(sent: Sequence[Sent]) -> list[DrawdownEvent]:
    """What the breaker's binding makes of the records it subscribes to; each record
    gets its offset on its own topic (the order of ``sent`` within each topic)."""
    offsets: dict[str, int] = {}
    events = []
    for spec, _key, record in sent:
        if spec in SOURCES:
            offset = offsets[spec.name] = offsets.get(spec.name, -1) + 1
            events.append(to_event(spec.name, record, offset))
    return events


def run(events: Sequence[DrawdownEvent], policy: Thresholds) -> tuple[AccountState, list[Effect]]:
    state = AccountState("acc")
    effects: list[Effect] = []
    for event in events:
        state, produced = observe(state, event, policy, event.event_time)
        effects.extend(produced)
    return state, effects


def interleave(sent: Sequence[Sent], rng: random.Random) -> list[Sent]:
    """A random merge of the topics that keeps each topic's own order (all that Kafka
    promises across an account's topics)."""
    queues: dict[TopicSpec, list[Sent]] = {}
    for record in sent:
        queues.setdefault(record[0], []).append(record)
    merged: list[Sent] = []
    while queues:
        spec = rng.choice(sorted(queues, key=lambda s: s.name))
        merged.append(queues[spec].pop(0))
        if not queues[spec]:
            del queues[spec]
    return merged


def verdict(state: AccountState) -> tuple[object, ...]:
    return (
        dict(state.positions),
        state.wallet_balance,
        state.equity,
        state.peak_equity,
        state.day_start_equity,
        state.episode,
        state.latched,
    )


@SETTINGS
@given(st.lists(steps, max_size=30), limits, st.randoms(use_true_random=False))
def test_delivery_when_the_venue_topics_interleave_in_any_order_then_same_verdicts(
    script: list[Step], policy: Thresholds, rng: random.Random
) -> None:
    """Issue 12: for every interleaving of an account's topics that keeps each topic's
    order, the final state (positions, equity, peak, day start) and every trigger equal
    those of the order the venue produced."""
    produced = venue_history(script, resets=False)
    expected_state, expected = run(breaker_events(produced), policy)
    state, effects = run(breaker_events(interleave(produced, rng)), policy)
    assert verdict(state) == verdict(expected_state)
    assert [e for e in effects if isinstance(e, BreachTriggered)] == [
        e for e in expected if isinstance(e, BreachTriggered)
    ]


@SETTINGS
@given(st.lists(steps, max_size=30), limits, st.data())
def test_delivery_when_older_snapshots_are_resent_later_then_nothing_changes(
    script: list[Step], policy: Thresholds, data: st.DataObject
) -> None:
    """A venue adapter resending old snapshots (or a replay) never resurrects a closed
    position, raises a peak or fires a trigger the produced order did not."""
    events = breaker_events(venue_history(script, resets=False))
    stale = data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    expected_state, expected = run(events, policy)
    state, effects = run(events + stale, policy)
    assert verdict(state) == verdict(expected_state)
    assert effects == expected


@SETTINGS
@given(st.lists(steps, max_size=30), limits, st.data())
def test_redelivery_when_a_prefix_is_fed_again_then_same_effects_and_state(
    script: list[Step], policy: Thresholds, data: st.DataObject
) -> None:
    """Replaying any prefix after the whole sequence adds no effect and changes no state."""
    events = breaker_events(venue_history(script))
    prefix = data.draw(st.integers(0, len(events)))
    once = run(events, policy)
    assert run(events + events[:prefix], policy) == once


@SETTINGS
@given(st.lists(steps, max_size=30), limits, st.data())
def test_redelivery_when_crash_rewinds_to_an_earlier_offset_then_same_as_once(
    script: list[Step], policy: Thresholds, data: st.DataObject
) -> None:
    """Processing up to k, then restarting from an earlier offset j, equals one pass."""
    events = breaker_events(venue_history(script))
    crashed_at = data.draw(st.integers(0, len(events)))
    resumed_from = data.draw(st.integers(0, crashed_at))
    replayed = events[:crashed_at] + events[resumed_from:]
    assert run(replayed, policy) == run(events, policy)


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_triggers_when_no_reset_then_at_most_one(script: list[Step], policy: Thresholds) -> None:
    """Without a reset an account trips at most once, whatever equity does."""
    _, effects = run(breaker_events(venue_history(script, resets=False)), policy)
    assert sum(isinstance(effect, BreachTriggered) for effect in effects) <= 1


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_triggers_when_resets_then_one_per_episode_at_most(
    script: list[Step], policy: Thresholds
) -> None:
    """Every trigger belongs to a different episode, and its id says which."""
    _, effects = run(breaker_events(venue_history(script)), policy)
    fired = [effect for effect in effects if isinstance(effect, BreachTriggered)]
    assert len({trigger.episode for trigger in fired}) == len(fired)
    assert all(trigger.breach_id.endswith(f":{trigger.episode}") for trigger in fired)


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_peak_when_any_sequence_then_never_decreases_except_by_rebase(
    script: list[Step], policy: Thresholds
) -> None:
    """The high-water mark only falls on a reset that asked to rebase it."""
    state = AccountState("acc")
    for event in breaker_events(venue_history(script)):
        before = state.peak_equity
        state, effects = observe(state, event, policy, event.event_time)
        rebased = any(isinstance(e, EpisodeReset) and e.rebased_peak is not None for e in effects)
        if before is not None and not rebased:
            assert state.peak_equity is not None
            assert state.peak_equity >= before


@SETTINGS
@given(st.lists(steps, max_size=40), limits)
def test_latch_when_any_sequence_then_only_a_reset_unlatches(
    script: list[Step], policy: Thresholds
) -> None:
    """A latched account stays latched until an EpisodeReset is emitted."""
    state = AccountState("acc")
    for event in breaker_events(venue_history(script)):
        was_latched = state.latched
        state, effects = observe(state, event, policy, event.event_time)
        if was_latched and not state.latched:
            assert any(isinstance(effect, EpisodeReset) for effect in effects)
            assert isinstance(event, Reset)


def test_binding_when_listing_sources_then_only_the_ordered_account_topic_and_resets() -> None:
    assert SOURCES == (ACCOUNT_UPDATED, CIRCUIT_BREAKER_RESET)
