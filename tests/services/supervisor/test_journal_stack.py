"""The journal, the history command and the escalation path on the real stack: entries
commit in order and read back (also through ``hfos recovery history``); a second
supervisor fences the first; the escalation asks for the state the active policy names,
and the worker's emergency stop applies it once per episode, REDUCE as REDUCING."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from schemas.catalogue import ESS_TRANSITION, TopicNames
from schemas.contracts import contract
from schemas.enums import EssState, RecoveryOutcome
from schemas.serde import AvroSerde
from services.bus.topics import provision
from services.cli.main import cli
from services.ess.view import EssView
from services.policy.store import PolicyStore
from services.policy.view import PolicyView
from services.supervisor import Episode, Escalation, Line
from services.supervisor.exceptions import JournalFencedError, RebuildError
from services.supervisor.journal import Entry, KafkaJournal
from services.supervisor.rebuild import read_states
from services.supervisor.records import escalation_command, line_record, state_record
from services.supervisor.target import PolicyEscalationState
from services.testing import Servers
from services.testing.kafka import read_topic
from services.testing.workers import running_worker
from streams.testing import START

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]


@pytest.fixture
def names(stack: Servers) -> TopicNames:
    found = TopicNames(f"jnl{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), found.specs())
    return found


@pytest.fixture
def journal(stack: Servers, serde: AvroSerde, names: TopicNames) -> Iterator[KafkaJournal]:
    found = KafkaJournal({"bootstrap.servers": stack.kafka}, serde, names)
    found.init()
    yield found
    found.close()


def entry(
    subsystem: str,
    sequence: int,
    outcome: RecoveryOutcome,
    at: int,
    escalation: dict[str, Any] | None = None,
) -> Entry:
    """One history line and the state it leaves, as the loop writes them."""
    line = Line(subsystem, 1, sequence, outcome, 1, at, delay_ms=1_000 * sequence)
    state = Episode(subsystem, episode=1, sequence=sequence, attempt=1)
    return Entry(
        subsystem,
        [line_record(line, critical=False, action=None, opened_at=START)],
        state_record(state, critical=False, now=at),
        escalation,
    )


def history(stack: Servers, names: TopicNames, *args: str) -> Any:
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    return CliRunner().invoke(cli, ["recovery", "history", *args], env=env)


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_journal_when_entries_committed_then_history_reads_them_in_order_and_filters(
    stack: Servers, serde: AvroSerde, names: TopicNames, journal: KafkaJournal
) -> None:
    now = int(time.time() * 1000)
    journal.append(entry("redis", 1, RecoveryOutcome.FAILURE_DETECTED, now - 3_600_000))
    journal.append(entry("redis", 2, RecoveryOutcome.ATTEMPT_SCHEDULED, now - 1_000))
    journal.append(entry("kafka", 1, RecoveryOutcome.FAILURE_DETECTED, now))
    assert journal.flush(30)

    everything = history(stack, names)
    recent = history(stack, names, "--subsystem", "redis", "--since", "10m", "--json")
    rebuilt = read_states({"bootstrap.servers": stack.kafka}, serde, names, 30)

    assert everything.exit_code == 0, everything.output
    assert [line.split()[1] for line in everything.output.splitlines()] == [
        "redis",
        "redis",
        "kafka",
    ]
    assert recent.exit_code == 0, recent.output
    [line] = [json.loads(text) for text in recent.output.splitlines()]
    assert (line["subsystem"], line["outcome"], line["delay_ms"]) == (
        "redis",
        "ATTEMPT_SCHEDULED",
        2_000,
    )
    assert rebuilt["redis"].sequence == 2
    assert rebuilt["kafka"].sequence == 1


def test_history_when_nothing_recorded_then_says_so(stack: Servers, names: TopicNames) -> None:
    result = history(stack, names, "--subsystem", "redis")
    assert result.exit_code == 0
    assert "no recovery history for redis" in result.output


def test_rebuild_when_the_state_topic_is_missing_then_refuses_naming_it(
    stack: Servers, serde: AvroSerde
) -> None:
    never = TopicNames(f"jnl{uuid.uuid4().hex[:8]}.")

    with pytest.raises(RebuildError, match=r"recovery\.state.*missing: provision the topics"):
        read_states({"bootstrap.servers": stack.kafka}, serde, never, 30)


def test_journal_when_a_second_supervisor_registers_then_the_first_is_fenced(
    stack: Servers, serde: AvroSerde, names: TopicNames, journal: KafkaJournal
) -> None:
    second = KafkaJournal({"bootstrap.servers": stack.kafka}, serde, names)
    second.init()
    try:
        journal.append(entry("redis", 1, RecoveryOutcome.FAILURE_DETECTED, START))
        assert wait_for(lambda: journal.fenced() is not None, 30)
        second.append(entry("redis", 1, RecoveryOutcome.FAILURE_DETECTED, START))
        assert second.flush(30)
    finally:
        second.close()
    assert isinstance(journal.fenced(), JournalFencedError)
    assert len(list(history(stack, names).output.splitlines())) == 1


def test_escalation_when_policy_names_tripped_then_ess_trips_once_per_episode(
    stack: Servers, serde: AvroSerde, names: TopicNames, journal: KafkaJournal, tmp_path: Path
) -> None:
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    view = PolicyView({"bootstrap.servers": stack.kafka}, names, serde)
    client = redis.Redis.from_url(stack.redis, socket_timeout=0.5)
    target = PolicyEscalationState(PolicyStore(client, view, names.prefix, reader="test"))
    with running_worker(env, f"{names.prefix}streams", tmp_path / "worker.log"):
        assert wait_for(lambda: view.state().active() is not None, 90)
        assert target() is EssState.REDUCING  # the default
        changed = CliRunner().invoke(
            cli,
            [
                *("policy", "set", "normal", "supervisor_escalation_state=tripped"),
                *("--by", "test", "--reason", "escalations trip here"),
            ],
            env=env,
        )
        assert changed.exit_code == 0, changed.output + str(changed.exception)
        assert wait_for(lambda: target() is EssState.TRIPPED, 30)
        escalation = Escalation("kafka", 1, START, target(), "kafka: 5 recovery attempts failed")
        command = escalation_command(escalation, START)
        for sequence in (1, 2):  # sent again by a restarted supervisor: still one effect
            journal.append(entry("kafka", sequence, RecoveryOutcome.ESCALATED, START, command))
        assert journal.flush(30)
        assert wait_for(lambda: _global(stack, serde, names) == "TRIPPED", 60)
        transitions = _transitions(stack, serde, names)
    view.close()
    assert [(t["state"], t["trigger"]) for t in transitions] == [
        ("TRIPPED", "SUPERVISOR_ESCALATION")
    ]


def _global(stack: Servers, serde: AvroSerde, names: TopicNames) -> str | None:
    view = EssView({"bootstrap.servers": stack.kafka}, names, serde)
    try:
        if not view.caught_up.wait(10):
            return None
        held = view.states().get("global")
        return None if held is None else str(held["state"])
    finally:
        view.close()


def _transitions(stack: Servers, serde: AvroSerde, names: TopicNames) -> list[dict[str, Any]]:
    target = contract(ESS_TRANSITION, names)
    raw = read_topic({"bootstrap.servers": stack.kafka}, target.topic, 1, timeout=30, settle=3)
    return [serde.decode(target, r.value) for r in raw]
