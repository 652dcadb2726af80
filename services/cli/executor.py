"""``hfos executor``: run the executor (trade.signal -> order.requested / order.rejected)."""

from __future__ import annotations

import logging
import signal
import socket
from types import FrameType

import click

from services.cli.context import Context
from services.cli.params import INSTANCE
from services.executor.service import CONTROL_SERVICE, SERVICE, Executor, ExecutorConfig
from services.health.endpoint import loop_reporter, open_probe

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def executor() -> None:
    """The executor: every trade signal becomes an order or a typed rejection."""


@executor.command()
@click.option(
    "--instance",
    default=socket.gethostname(),
    show_default=True,
    type=INSTANCE,
    help="Instance id; its transactional id fences a zombie of the same instance.",
)
@click.option(
    "--heartbeat-bound-ms",
    default=5_000,
    show_default=True,
    type=click.IntRange(100),
    help="Dead-man's switch: refuse new risk when no control-plane heartbeat "
    "arrived within this many milliseconds.",
)
@click.option(
    "--control-service",
    default=CONTROL_SERVICE,
    show_default=True,
    help="The service whose heartbeats keep the dead-man's switch alive.",
)
@click.option(
    "--barrier-timeout",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.01, 60.0),
    help="Seconds to read the control topics to their end before a batch; "
    "past it, the batch is refused with STATE_NOT_READY.",
)
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@pass_context
def run(
    ctx: Context,
    instance: str,
    heartbeat_bound_ms: int,
    control_service: str,
    barrier_timeout: float,
    loglevel: str,
) -> None:
    """Decide signals until SIGTERM/SIGINT; decisions commit in Kafka transactions."""
    logging.basicConfig(
        level=loglevel.upper(), format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
    )
    settings = ctx.settings
    probe = open_probe(settings, SERVICE)
    config = ExecutorConfig(
        names=ctx.names,
        instance=instance,
        heartbeat_bound_ms=heartbeat_bound_ms,
        barrier_timeout_seconds=barrier_timeout,
        control_service=control_service,
    )
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service = Executor(ctx.kafka, ctx.serde, config)
    report = loop_reporter(settings, probe, service.health_snapshot)

    def should_stop() -> bool:
        report()
        return bool(stopping)

    logging.getLogger(__name__).info("executor %s started (group %s)", instance, config.group_id)
    service.run(should_stop)
