"""``hfos supervise``: watch every subsystem, recover what failed, escalate what does not
come back (SPEC §7)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click
import prometheus_client

from services.cli.context import Context
from services.localstack.stack import LocalStack
from services.supervisor.config import SupervisorConfig
from services.supervisor.service import RunningSupervisor, Servers, supervised

pass_context = click.make_pass_decorator(Context, ensure=True)
log = logging.getLogger(__name__)


def _seconds(minimum: float = 0.1) -> click.FloatRange:
    return click.FloatRange(min=minimum, max=86_400)


@click.command()
@click.option(
    "--expect",
    multiple=True,
    default=("hfos-streams",),
    show_default=True,
    help="A service whose heartbeats must keep coming (repeat for several).",
)
@click.option(
    "--watch",
    help="Supervise only these subsystems, comma-separated (kafka, schema-registry, redis, "
    "price-feed, service:<name>); default: all.",
)
@click.option(
    "--restart-stack/--no-restart-stack",
    default=None,
    help="Restart dead parts of the local stack (default: when the local stack is in use, "
    "i.e. KAFKA_BOOTSTRAP_SERVERS is not set).",
)
@click.option(
    "--stable-seconds",
    type=_seconds(),
    default=60.0,
    show_default=True,
    help="How long a subsystem must stay healthy before its episode ends.",
)
@click.option("--heartbeat-bound-seconds", type=_seconds(), default=10.0, show_default=True)
@click.option("--price-bound-seconds", type=_seconds(), default=10.0, show_default=True)
@click.option(
    "--escalate-after-seconds",
    type=_seconds(1.0),
    default=120.0,
    show_default=True,
    help="A critical subsystem failing this long escalates even with attempts left.",
)
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@pass_context
def supervise(  # noqa: PLR0913 - one parameter per option
    ctx: Context,
    expect: tuple[str, ...],
    watch: str | None,
    restart_stack: bool | None,
    stable_seconds: float,
    heartbeat_bound_seconds: float,
    price_bound_seconds: float,
    escalate_after_seconds: float,
    loglevel: str,
) -> None:
    """Supervise Kafka, the registry, Redis, the price feed and the services' heartbeats.

    Each failure episode gets attempts at 1, 2, 4, 8, 16 s (+ up to 10 % jitter), at most
    five; every step is written to system.recovery (hfos recovery history). A critical
    subsystem that exhausts its attempts or stays down past its bound sets the global
    emergency stop to the state the active policy names (supervisor_escalation_state).
    """
    logging.basicConfig(
        level=loglevel.upper(), format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
    )
    local = not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    watched = None if watch is None else frozenset(w.strip() for w in watch.split(",") if w)
    config = SupervisorConfig(
        expect=expect,
        watch=watched,
        restart_stack=local if restart_stack is None else restart_stack,
        stable_seconds=stable_seconds,
        heartbeat_bound_seconds=heartbeat_bound_seconds,
        price_bound_seconds=price_bound_seconds,
        escalate_after_seconds=escalate_after_seconds,
    )
    if ctx.settings.hfos_metrics_port:
        prometheus_client.start_http_server(ctx.settings.hfos_metrics_port)
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    running = RunningSupervisor(
        Servers.of(ctx.settings, ctx.serde),
        config,
        stack=LocalStack() if config.restart_stack else None,
        say=log.info,
    )
    log.info("supervisor started: %s", supervised(running.supervisor.units))
    try:
        running.run(stop)
    finally:
        running.close()
    log.info("supervisor stopped")
