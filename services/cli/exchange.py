"""``hfos exchange run``: the paper exchange in the foreground (SPEC §5)."""

from __future__ import annotations

import logging
import math
import signal
import threading
from types import FrameType

import click
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import TopicNames
from schemas.serde import AvroSerde
from services.cli.params import ACCOUNT, INSTANCE
from services.exchange.service import (
    DEFAULT_INITIAL_BALANCE,
    DEFAULT_INSTANCE,
    ExchangeConfig,
    PaperExchange,
)
from services.health.endpoint import loop_reporter, open_probe
from services.settings import load_settings

READY = "paper exchange ready"
"""Logged once the book is rebuilt and the inputs subscribed (tests wait for it)."""


def _finite(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", param=param)
    return value


@click.group()
def exchange() -> None:
    """The paper exchange: fills orders at the simulated market price."""


@exchange.command()
@click.option(
    "--account",
    "accounts",
    multiple=True,
    type=ACCOUNT,
    help="Fund this account at start if it has no balance yet (repeatable). Orders of "
    "accounts never funded are not filled: they go to order.failed.",
)
@click.option(
    "--initial-balance",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_INITIAL_BALANCE,
    show_default=True,
    callback=_finite,
    help="Wallet of a newly funded account, in the account currency.",
)
@click.option(
    "--fee",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.0,
    show_default=True,
    callback=_finite,
    help="Fee per fill, a fraction of the traded notional (0.0004 = 4 bp).",
)
@click.option(
    "--instance",
    default=DEFAULT_INSTANCE,
    show_default=True,
    type=INSTANCE,
    help="Consumer group and transactional id (under HFOS_TOPIC_PREFIX); one exchange per "
    "instance name — a second one fences the first.",
)
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def run(
    accounts: tuple[str, ...], initial_balance: float, fee: float, instance: str, loglevel: str
) -> None:
    """Fill order.requested until SIGTERM/SIGINT; every batch is one Kafka transaction."""
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings()
    probe = open_probe(settings, "hfos-exchange")
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("hfos.exchange").info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    service = PaperExchange(
        settings.kafka_client_config(),
        TopicNames(settings.hfos_topic_prefix),
        AvroSerde(SchemaRegistryClient(settings.registry_client_config())),
        ExchangeConfig(tuple(accounts), initial_balance, fee, instance),
    )
    service.start()
    logging.getLogger("hfos.exchange").info(
        "%s: %d accounts, prefix %r",
        READY,
        len(service.book.accounts()),
        settings.hfos_topic_prefix,
    )
    report = loop_reporter(settings, probe, service.health_snapshot)

    def should_stop() -> bool:
        report()
        return stop.is_set()

    service.run(should_stop)
