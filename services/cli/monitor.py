"""``hfos monitor run``: the position monitor (exit model, flash-crash detector; SPEC §6)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click

from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)
STARTED = "position monitor started"
"""Logged once the monitor reads its topics (``hfos up`` waits for it)."""


@click.group()
def monitor() -> None:
    """The position monitor: closes positions the exit model says to close, and asks the
    emergency stop for REDUCING/TRIPPED on a flash crash."""


@monitor.command()
@click.option("--instance", default=None, help="Instance id (default <hostname>-<pid>).")
@click.option(
    "--model",
    "model_name",
    default="exit-model",
    show_default=True,
    help="The exit model it serves (registered, loaded on each promotion).",
)
@click.option(
    "--threshold",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="P(close) at which a CLOSE signal is sent.",
)
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@pass_context
def run(
    ctx: Context, instance: str | None, model_name: str, threshold: float, loglevel: str
) -> None:
    """Score open positions and watch for flash crashes until SIGTERM/SIGINT."""
    from schemas.names import check_name  # noqa: PLC0415
    from services.health.endpoint import loop_reporter, open_probe  # noqa: PLC0415
    from services.models.registration import default_instance  # noqa: PLC0415
    from services.monitor.service import SERVICE, MonitorConfig, PositionMonitor  # noqa: PLC0415

    logging.basicConfig(
        level=loglevel.upper(), format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
    )
    check_name("model name", model_name)
    name = check_name("instance", instance or default_instance())
    settings = ctx.settings
    probe = open_probe(settings, SERVICE)
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service = PositionMonitor(
        ctx.kafka, ctx.serde, MonitorConfig(ctx.names, name, model_name, threshold)
    )
    report = loop_reporter(settings, probe, service.health_snapshot)

    def should_stop() -> bool:
        report()
        return bool(stopping)

    logging.getLogger(__name__).info("%s: %s, model %s", STARTED, name, model_name)
    service.run(should_stop)
