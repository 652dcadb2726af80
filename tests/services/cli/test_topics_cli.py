"""``hfos topics`` against the real stack: create, list, tail, produce."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner, Result

from schemas.catalogue import ALL_TOPICS, TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.values import to_json
from services.bus.producer import EventProducer
from services.cli.main import cli
from services.testing import Servers

pytestmark = pytest.mark.stack


def _run(stack: Servers, prefix: str, *args: str, stdin: str | None = None) -> Result:
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": prefix}
    return CliRunner().invoke(cli, list(args), input=stdin, env=env, catch_exceptions=False)


def _provisioned(stack: Servers) -> TopicNames:
    names = TopicNames(f"c{uuid.uuid4().hex[:8]}.")
    assert _run(stack, names.prefix, "topics", "create").exit_code == 0
    return names


def _lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_topics_create_twice_when_run_then_second_run_reports_all_unchanged(
    stack: Servers,
) -> None:
    names = TopicNames(f"c{uuid.uuid4().hex[:8]}.")

    first = _run(stack, names.prefix, "topics", "create")
    second = _run(stack, names.prefix, "topics", "create")

    outcomes = [line.split()[0] for line in second.stdout.splitlines()]
    assert first.stdout.count("created") == len(ALL_TOPICS)
    assert outcomes == ["unchanged"] * len(ALL_TOPICS)
    assert "created" not in second.stdout


def test_topics_list_when_records_produced_then_counts_and_partitions_shown(
    stack: Servers, producer: EventProducer
) -> None:
    names = _provisioned(stack)
    signals = contract(TRADE_SIGNAL, names)
    for seed in range(7):
        producer.send(signals, f"acc-{seed}", example_record("hfos.TradeSignal", seed=seed))
    assert producer.flush(30) == 0

    rows = {
        row["topic"]: row for row in _lines(_run(stack, names.prefix, "topics", "list", "--json"))
    }

    assert rows[signals.topic]["records"] == 7
    assert rows[signals.topic]["partitions"] == TRADE_SIGNAL.partitions


def test_tail_output_fed_to_produce_when_replayed_then_same_records(
    stack: Servers, producer: EventProducer
) -> None:
    source, target = _provisioned(stack), _provisioned(stack)
    signals = contract(TRADE_SIGNAL, source)
    for seed in range(12):
        record = example_record("hfos.TradeSignal", seed=seed)
        producer.send(signals, record["account_id"], record)
    assert producer.flush(30) == 0

    tailed = _run(
        stack, source.prefix, "topics", "tail", signals.topic, "--from-beginning", "--max", "12"
    )
    replay = _run(
        stack, target.prefix, "topics", "produce", target.name(TRADE_SIGNAL), stdin=tailed.stdout
    )
    again = _run(
        stack,
        target.prefix,
        "topics",
        "tail",
        target.name(TRADE_SIGNAL),
        "--from-beginning",
        "--max",
        "12",
    )

    assert replay.exit_code == 0, replay.stderr
    original = sorted(
        (line["key"], json.dumps(line["value"], sort_keys=True)) for line in _lines(tailed)
    )
    copied = sorted(
        (line["key"], json.dumps(line["value"], sort_keys=True)) for line in _lines(again)
    )
    assert len(original) == 12
    assert copied == original


def test_produce_when_one_line_invalid_then_batch_refused_with_line_and_field_and_nothing_sent(
    stack: Servers,
) -> None:
    names = _provisioned(stack)
    topic = names.name(TRADE_SIGNAL)
    good = json.dumps({"key": "acc-1", "value": _json_signal(1)})
    bad_value = {**_json_signal(2), "confidence": 1.5}
    bad = json.dumps({"key": "acc-2", "value": bad_value})

    result = CliRunner().invoke(
        cli,
        ["topics", "produce", topic],
        input=f"{good}\n{bad}\n",
        env={**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix},
    )
    listed = {
        row["topic"]: row for row in _lines(_run(stack, names.prefix, "topics", "list", "--json"))
    }

    assert result.exit_code != 0
    assert "line 2" in str(result.exception)
    assert "confidence" in str(result.exception)
    assert listed[topic]["records"] == 0


def test_produce_when_field_unknown_then_refused_naming_it(stack: Servers) -> None:
    names = _provisioned(stack)
    line = json.dumps({"key": "k", "value": {**_json_signal(3), "colour": "red"}})

    result = CliRunner().invoke(
        cli,
        ["topics", "produce", names.name(TRADE_SIGNAL)],
        input=line,
        env={**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix},
    )

    assert "line 1, field colour: unknown field" in str(result.exception)


def test_produce_when_boolean_for_a_number_then_refused_naming_it(stack: Servers) -> None:
    """JSON true is Python's True, an int: it must not go out as confidence 1.0."""
    names = _provisioned(stack)
    line = json.dumps({"key": "k", "value": {**_json_signal(4), "confidence": True}})

    result = CliRunner().invoke(
        cli,
        ["topics", "produce", names.name(TRADE_SIGNAL)],
        input=line,
        env={**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix},
    )

    assert result.exit_code != 0
    assert "line 1, field confidence" in str(result.exception)


def _json_signal(seed: int) -> dict[str, object]:
    value = to_json("hfos.TradeSignal", example_record("hfos.TradeSignal", seed=seed))
    assert isinstance(value, dict)
    return value
