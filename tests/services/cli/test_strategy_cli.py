"""``hfos strategy`` against the real stack: show, switch, and refusals that name the bad
argument."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner, Result
from confluent_kafka.admin import AdminClient

from schemas.catalogue import STRATEGY_SWITCHED, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.topics import provision
from services.cli.main import cli
from services.testing import Servers
from services.testing.cli import run_cli
from services.testing.kafka import end_offset, read_topic

pytestmark = pytest.mark.stack


def _run(stack: Servers, prefix: str, *args: str) -> Result:
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": prefix}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def prefix(stack: Servers) -> str:
    names = TopicNames(f"st{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    return names.prefix


def test_strategy_switch_when_repeated_then_versions_count_per_scope(
    stack: Servers, serde: AvroSerde, prefix: str
) -> None:
    first = _run(stack, prefix, "strategy", "switch", "aggressive", "--by", "ops", "--reason", "a")
    assert first.exit_code == 0, first.output
    assert "global: moderate -> aggressive (v1)" in first.stdout
    again = _run(stack, prefix, "strategy", "switch", "defensive", "--by", "ops", "--reason", "vol")
    assert "global: aggressive -> defensive (v2)" in again.stdout
    own = _run(
        stack,
        prefix,
        "strategy",
        "switch",
        "conservative",
        "--scope",
        "account:acc-1",
        "--by",
        "ops",
        "--reason",
        "new account",
    )
    assert "account:acc-1: moderate -> conservative (v1)" in own.stdout

    shown = json.loads(_run(stack, prefix, "strategy", "show", "--json").stdout)
    assert shown["scopes"]["global"]["strategy"] == "defensive"
    assert shown["scopes"]["global"]["version"] == 2
    assert shown["scopes"]["account:acc-1"]["reason"] == "new account"

    target = contract(STRATEGY_SWITCHED, TopicNames(prefix))
    records = [
        serde.decode(target, raw.value)
        for raw in read_topic({"bootstrap.servers": stack.kafka}, target.topic, 3, timeout=30)
    ]
    assert [(r["scope"], r["version"], r["previous"]) for r in records] == [
        ("global", 1, None),
        ("global", 2, "aggressive"),
        ("account:acc-1", 1, None),
    ]
    assert {r["by"] for r in records} == {"ops"}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["turbo", "--by", "ops", "--reason", "x"], "turbo"),
        (["defensive", "--scope", "symbol:BTC", "--by", "ops", "--reason", "x"], "symbol:BTC"),
        (["defensive", "--by", "ops", "--reason", "  "], "--reason"),
        (["defensive", "--reason", "x"], "--by"),
    ],
)
def test_strategy_switch_when_argument_bad_then_refused_naming_it(
    stack: Servers, prefix: str, args: list[str], named: str
) -> None:
    result = _run(stack, prefix, "strategy", "switch", *args)
    assert result.exit_code != 0
    assert named in (result.output + str(result.exception))


def _end(stack: Servers, prefix: str) -> int:
    topic = TopicNames(prefix).name(STRATEGY_SWITCHED)
    return end_offset({"bootstrap.servers": stack.kafka}, topic)


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--scope", "account:\x1b[31mRED", "control character U+001B"),
        ("--scope", "account:\u200b", "invisible format character U+200B"),
        ("--scope", "account:\u202eevil", "U+202E"),
        ("--scope", "account::", "':'"),
        ("--scope", "account:" + "a" * 100_000, "100000 characters"),
        ("--by", "ops\x1b]0;pwned\x07", "U+001B"),
        ("--reason", "vol\x7f", "U+007F"),
    ],
)
def test_strategy_switch_when_name_or_text_unprintable_then_refused_before_sending(
    stack: Servers, prefix: str, option: str, value: str, named: str
) -> None:
    args = {"--scope": "global", "--by": "ops", "--reason": "vol", option: value}
    before = _end(stack, prefix)

    result = run_cli(
        ["strategy", "switch", "defensive", *[part for pair in args.items() for part in pair]],
        {**stack.environ(), "HFOS_TOPIC_PREFIX": prefix},
    )

    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr
    assert named in result.stderr
    assert "\x1b" not in result.output
    assert _end(stack, prefix) == before
