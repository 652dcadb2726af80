"""The loop of SPEC §5 on real servers: a simulated price gap, marked to market by the
paper exchange, moves equity through the breaker in a real stream worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from schemas.catalogue import CIRCUIT_BREAKER_TRIGGERED
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.cli.main import cli
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.kafka import read_topic
from services.testing.workers import running_worker
from tests.services.exchange.venue import Venue

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


@pytest.fixture
def venue(stack: Servers, serde: AvroSerde, producer: EventProducer) -> Iterator[Venue]:
    venue = Venue(stack, serde, producer)
    yield venue
    venue.stop()


def wait_for_policy(venue: Venue, log: Path) -> None:
    view = PolicyView(venue.kafka, venue.names, venue.serde)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if view.state().active() is not None:
                return
            time.sleep(0.05)
    finally:
        view.close()
    raise AssertionError(log.read_text()[-3000:])


def test_loop_when_simulated_gap_marks_position_down_then_breaker_trips_on_that_equity(
    venue: Venue, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with running_worker(venue.env, f"{venue.names.prefix}streams", log):
        wait_for_policy(venue, log)
        venue.start("acc-1")
        venue.order("acc-1", "BTCUSDT", "BUY", 50.0, 100.0)  # 5 000 notional on 10 000
        venue.fills(1)

        simulated = CliRunner().invoke(
            cli,
            [
                *("simulate", "run", "--symbols", "BTCUSDT", "--start", "BTCUSDT=100"),
                *("--volatility", "0", "--interval", "0", "--gap", "3:BTCUSDT:-0.3"),
                *("--ticks", "4", "--signal-every", "0"),
            ],
            env=venue.env,
            catch_exceptions=False,
        )
        triggered = contract(CIRCUIT_BREAKER_TRIGGERED, venue.names)
        raw = read_topic(venue.kafka, triggered.topic, 1, timeout=60, settle=2)

    assert simulated.exit_code == 0, simulated.output
    [trigger] = [venue.serde.decode(triggered, r.value) for r in raw]
    assert trigger["account_id"] == "acc-1"
    assert trigger["equity"] == pytest.approx(8_500.0)  # 50 x (70 - 100) marked off 10 000
    assert trigger["peak_equity"] == pytest.approx(10_000.0)
