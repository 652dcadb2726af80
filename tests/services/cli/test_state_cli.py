"""``hfos positions`` and ``hfos breaker status`` (issue 13 point 7): the state a trader
asks about, read from the topics — positions from the venue's latest account snapshot,
the breaker's numbers from its table's changelog — in text and JSON."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.testing import Servers
from services.testing.cli import CliRun, run_cli
from services.testing.venue import Venue
from services.testing.workers import running_worker
from tests.streams.drawdown.test_breaker_worker import Bench

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]


def _hfos(env: dict[str, str], *argv: str) -> CliRun:
    return run_cli(argv, env)


def test_positions_when_a_position_closed_then_only_the_open_ones_listed(
    stack: Servers, producer: EventProducer
) -> None:
    names = TopicNames(f"pos{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    venue = Venue(producer, names)
    venue.balance("acc-1", 10_000.0)
    venue.position("acc-1", "BTCUSDT", 150.0)
    venue.position("acc-1", "ETHUSDT", -20.0)
    venue.close("acc-1", "BTCUSDT", 150.0)
    venue.balance("acc-2", 5_000.0)

    one = _hfos(env, "positions", "--account", "acc-1", "--json")
    both = _hfos(env, "positions")

    assert one.exit_code == 0, one.output
    [row] = [json.loads(line) for line in one.stdout.splitlines()]
    assert [p["symbol"] for p in row["positions"]] == ["ETHUSDT"]
    assert (row["wallet_balance"], row["equity"], row["sequence"]) == (10_150.0, 10_130.0, 4)
    assert row["as_of"].endswith("Z")
    assert both.exit_code == 0, both.output
    assert "acc-2: equity 5,000.00" in both.stdout
    assert "no open position" in both.stdout


def test_positions_when_account_unknown_or_name_bad_then_refused_clearly(
    stack: Servers,
) -> None:
    names = TopicNames(f"pos{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix}

    unknown = _hfos(env, "positions", "--account", "nobody")
    bad = _hfos(env, "positions", "--account", "a\x1bb")

    assert unknown.exit_code == 1
    assert "no account update on record for nobody" in unknown.output
    assert bad.exit_code == 2
    assert "--account" in bad.output


def test_breaker_status_when_account_breached_then_numbers_against_limits_and_latch(
    stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path
) -> None:
    bench = Bench(stack, serde, producer, tmp_path / "worker.log")
    with running_worker(bench.env, bench.app_id, bench.log):
        bench.wait_policy(lambda _active: True)
        bench.venue.balance("acc-s", 10_000.0)
        bench.venue.position("acc-s", "BTCUSDT", -1_500.0)
        bench.triggers(1, settle=0.5)
        deadline = time.monotonic() + 30
        while True:
            status = _hfos(bench.env, "breaker", "status", "--app-id", bench.app_id, "--json")
            rows = json.loads(status.stdout)["accounts"] if status.exit_code == 0 else []
            if (rows and rows[0]["latched"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        text = _hfos(bench.env, "breaker", "status", "--app-id", bench.app_id)

    [row] = rows
    assert (row["account"], row["equity"], row["peak_equity"]) == ("acc-s", 8_500.0, 10_000.0)
    assert row["drawdown"] == pytest.approx(0.15)
    assert (row["max_drawdown"], row["max_daily_loss"]) == (0.10, 0.05)
    assert row["open_positions"] == {"BTCUSDT": -1_500.0}
    assert (row["episode"], row["latched"], row["sequence"]) == (1, True, 2)
    assert "TRIPPED (episode 1)" in text.stdout
    assert "policy: normal v1" in text.stdout
