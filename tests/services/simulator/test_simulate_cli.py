"""``hfos simulate run`` against the real stack: the scripted gap shows in market.price at
its tick, the prices are the seeded walk's, and signals come every N ticks per account."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from schemas.catalogue import MARKET_PRICE, TRADE_SIGNAL, TopicNames
from schemas.contracts import contract
from schemas.ids import derived_id
from schemas.serde import AvroSerde
from services.cli.main import cli
from services.simulator import Gap, RandomWalk, start_prices
from services.testing import Servers
from services.testing.kafka import read_topic

ARGS = [
    "simulate",
    "run",
    "--symbols",
    "BTCUSDT,ETHUSDT",
    "--volatility",
    "0.002",
    "--interval",
    "0",
    "--gap",
    "5:BTCUSDT:-0.12",
    "--accounts",
    "acc-1,acc-2",
    "--signal-every",
    "4",
    "--seed",
    "7",
    "--ticks",
    "12",
    "--run-id",
    "run-1",
]


def walk(gaps: list[Gap]) -> list[float]:
    prices = RandomWalk(start_prices(["BTCUSDT", "ETHUSDT"], {}), 0.002, 7, gaps)
    return [prices.step()["BTCUSDT"] for _ in range(12)]


@pytest.mark.stack
def test_simulate_run_when_gap_scripted_then_market_price_drops_by_it_at_that_tick(
    stack: Servers, names: TopicNames, serde: AvroSerde
) -> None:
    env = {**stack.environ(), "HFOS_TOPIC_PREFIX": names.prefix}

    result = CliRunner().invoke(cli, ARGS, env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    kafka = {"bootstrap.servers": stack.kafka}
    prices = contract(MARKET_PRICE, names)
    records = [serde.decode(prices, r.value) for r in read_topic(kafka, prices.topic, 24)]
    btc = [r["price"] for r in records if r["symbol"] == "BTCUSDT"]
    assert len(records) == 24
    assert btc == walk([Gap(5, "BTCUSDT", -0.12)])
    assert btc[4] / walk([])[4] == pytest.approx(0.88)
    signals = contract(TRADE_SIGNAL, names)
    sent = [serde.decode(signals, r.value) for r in read_topic(kafka, signals.topic, 6, settle=1)]
    assert sorted(s["signal_id"] for s in sent) == sorted(
        derived_id("simulator.signal", "run-1", str(tick), account)
        for tick in (4, 8, 12)
        for account in ("acc-1", "acc-2")
    )


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--gap", "5:DOGEUSDT:-0.1", "SYMBOL"),
        ("--gap", "5:BTCUSDT", "format"),
        ("--volatility", "1.5", "volatility"),
        ("--interval", "-1", "interval"),
        ("--start", "BTCUSDT=cheap", "SYMBOL=PRICE"),
        ("--symbols", ",", "at least one symbol"),
    ],
)
def test_simulate_run_when_option_bad_then_refused_naming_it(
    option: str, value: str, named: str
) -> None:
    result = CliRunner().invoke(cli, ["simulate", "run", "--ticks", "1", option, value])

    assert result.exit_code == 2
    assert named in result.output
