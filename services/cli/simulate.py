"""``hfos simulate run``: the market simulator — prices (random walk, scripted gaps) and
trading signals, published at a pace."""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from types import FrameType

import click

from schemas.errors import HfosError
from services.cli.context import Context
from services.cli.params import MODEL, NameListParam
from services.simulator.service import MarketSimulator, Pace
from services.simulator.signals import SignalGenerator, SignalModel
from services.simulator.walk import Gap, RandomWalk, parse_gap, start_prices

pass_context = click.make_pass_decorator(Context, ensure=True)


def _starts(
    _ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    found: dict[str, float] = {}
    for text in values:
        symbol, _, price = text.partition("=")
        try:
            found[symbol.strip()] = float(price)
        except ValueError:
            raise click.BadParameter(f"{text!r}: expected SYMBOL=PRICE", param=param) from None
    return found


@click.group()
def simulate() -> None:
    """The market simulator: prices and signals for demos and tests."""


@simulate.command()
@click.option(
    "--symbols", default="BTCUSDT,ETHUSDT", show_default=True, type=NameListParam("symbol")
)
@click.option(
    "--volatility",
    type=float,
    default=0.002,
    show_default=True,
    help="Standard deviation of the log price per tick, a fraction in [0, 1).",
)
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds per tick.")
@click.option(
    "--gap",
    "gaps",
    multiple=True,
    help="TICK:SYMBOL:CHANGE, e.g. 50:BTCUSDT:-0.12 takes 12 % off at tick 50 (repeatable).",
)
@click.option(
    "--start",
    "starts",
    multiple=True,
    callback=_starts,
    help="SYMBOL=PRICE starting price (repeatable); default: a typical price, else 100.",
)
@click.option(
    "--accounts",
    default="",
    type=NameListParam("account id", allow_empty=True),
    help="Accounts to signal for, comma-separated.",
)
@click.option(
    "--signal-every",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="One signal per account every N ticks (0: none).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ticks", type=click.IntRange(min=1), help="Stop after N ticks (default: never).")
@click.option("--model-name", default="sim-model", show_default=True, type=MODEL)
@click.option("--model-version", default="1", show_default=True)
@click.option("--run-id", help="Id namespace of prices and signals (default: a fresh uuid).")
@pass_context
def run(  # noqa: PLR0913 - one parameter per option
    ctx: Context,
    symbols: tuple[str, ...],
    volatility: float,
    interval: float,
    gaps: tuple[str, ...],
    starts: dict[str, float],
    accounts: tuple[str, ...],
    signal_every: int,
    seed: int,
    ticks: int | None,
    model_name: str,
    model_version: str,
    run_id: str | None,
) -> None:
    """Publish market.price (and trade.signal) until --ticks or SIGTERM/SIGINT."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_id = run_id or uuid.uuid4().hex
    try:
        scripted = [parse_gap(text, symbols) for text in gaps]
        walk = RandomWalk(start_prices(symbols, starts), volatility, seed, scripted)
        signals = SignalGenerator(
            accounts, symbols, seed, run_id, SignalModel(model_name, model_version)
        )
        pace = Pace(interval, ticks, signal_every)
    except HfosError as error:
        raise click.UsageError(str(error)) from None
    ctx.service = "hfos-simulator"
    simulator = MarketSimulator(ctx.producer, ctx.names, walk, signals, run_id)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        published = simulator.run(pace, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(
        f"published {published} ticks of {', '.join(symbols)} (run {run_id}){_gaps(scripted)}"
    )


def _gaps(gaps: list[Gap]) -> str:
    return "".join(f"; gap {g.symbol} {g.change:+.2%} at tick {g.tick}" for g in gaps)
