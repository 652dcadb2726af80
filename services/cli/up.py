"""``hfos up``: the stack, the stream worker, the executor, the paper exchange and the
simulator as one session, until Ctrl-C / SIGTERM or ``--duration``."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click
import prometheus_client

from services.bus.topics import Outcome, TopicMismatchError, provision
from services.cli.context import Context
from services.cli.params import MODEL, NameListParam
from services.localstack.stack import LocalStack
from services.supervisor.config import SupervisorConfig
from services.supervisor.service import Servers as SupervisedServers
from services.up.plan import EXIT_MODEL, Part, SessionConfig, plan
from services.up.session import Servers, Session, StopRequest, Supervise
from services.up.supervised import SessionSupervision

pass_context = click.make_pass_decorator(Context, ensure=True)

DEFAULTS = SessionConfig()


def default_log_dir() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path.home() / ".local" / "state" / "hfos" / "up" / stamp


@click.command()
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this many seconds once every part is ready (default: until Ctrl-C).",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where each part's log goes (default: ~/.local/state/hfos/up/<UTC time>/).",
)
@click.option(
    "--accounts",
    default=",".join(DEFAULTS.accounts),
    show_default=True,
    type=NameListParam("account id"),
    help="Accounts the exchange funds and the simulator signals for, comma-separated.",
)
@click.option(
    "--symbols",
    default=",".join(DEFAULTS.symbols),
    show_default=True,
    type=NameListParam("symbol"),
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=DEFAULTS.interval,
    show_default=True,
    help="Seconds per simulated price tick (a signal per account every 4 ticks).",
)
@click.option(
    "--model",
    default=DEFAULTS.model,
    show_default=True,
    type=MODEL,
    help="Model the simulator's signals name; promoted before the session starts.",
)
@click.option("--model-version", default=DEFAULTS.model_version, show_default=True)
@click.option(
    "--status-every",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Seconds between live lines.",
)
@click.option(
    "--stack-down", is_flag=True, help="Stop the local stack at the end (default: leave it up)."
)
@pass_context
def up(  # noqa: PLR0913 - one parameter per option
    ctx: Context,
    duration: float | None,
    log_dir: Path | None,
    accounts: tuple[str, ...],
    symbols: tuple[str, ...],
    interval: float,
    model: str,
    model_version: str,
    status_every: float,
    stack_down: bool,
) -> None:
    """Run worker, executor, paper exchange and simulator together, each logging to a file.

    Starts the local stack unless KAFKA_BOOTSTRAP_SERVERS is set, provisions the topics,
    promotes the simulator's model, then starts the parts in order and prints a live line.
    Ctrl-C, SIGTERM or SIGHUP stops them in reverse order (a second Ctrl-C kills at
    once); a part that exits on its own stops the rest and the exit status is 1.
    """
    local = not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    _ensure_stack(local)
    reports = provision(ctx.admin, ctx.names.specs())
    created = sum(r.outcome is Outcome.CREATED for r in reports)
    mismatched = [r for r in reports if r.outcome is Outcome.MISMATCHED]
    if mismatched:
        raise TopicMismatchError(mismatched)
    prefix = ctx.settings.hfos_topic_prefix
    click.echo(
        f"topics: {len(reports)} in the catalogue, {created} created now (prefix {prefix!r})"
    )
    _promote(ctx, model, model_version)
    config = SessionConfig(accounts, symbols, interval, model, model_version)
    parts = plan(config)
    log_dir = log_dir or default_log_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    stop_request = StopRequest()
    _on_signals(stop_request)
    session = Session(
        Servers(ctx.kafka, ctx.serde, ctx.names),
        parts,
        log_dir,
        os.environ,
        _echo,
        stop_request,
        status_every,
        _supervisor(ctx, parts, local),
    )
    outcome = session.run(duration)
    click.echo(f"logs: {log_dir}")
    _leave_stack(local, stack_down)
    if not outcome.ok:
        sys.exit(1)


def _supervisor(ctx: Context, parts: tuple[Part, ...], local: bool) -> Supervise:
    """The session's supervisor: every part a child process it restarts, the local stack's
    parts too when this session runs on it. Its metrics (HFOS_METRICS_PORT) are served
    on the port after the parts' (worker N, executor N+1, exchange N+2, monitor N+3,
    supervisor N+4)."""
    base = ctx.settings.hfos_metrics_port
    if base:
        prometheus_client.start_http_server(base + sum(part.serves_metrics for part in parts))
    config = SupervisorConfig(restart_stack=local)
    servers = SupervisedServers.of(ctx.settings, ctx.serde)
    stack = LocalStack() if local else None
    return lambda slots, say: SessionSupervision(servers, config, slots, stack, say)


def _echo(text: str) -> None:
    """``click.echo``; when the reader has gone (``hfos up | head``), the error still
    reaches the session (which stops), and stdout goes to /dev/null from then on so the
    last lines and the exit flush do not fail again."""
    try:
        click.echo(text)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise


def _ensure_stack(local: bool) -> None:
    if not local:
        click.echo("stack: external servers (KAFKA_BOOTSTRAP_SERVERS is set)")
        return
    started = time.monotonic()
    state = LocalStack().up()
    addresses = " ".join(f"{k}={v}" for k, v in state.addresses().items())
    click.echo(f"stack: local, up in {time.monotonic() - started:.1f} s ({addresses})")


def _promote(ctx: Context, model: str, version: str) -> None:
    """Build and promote the simulator's model and the monitor's exit model (real ONNX
    artifacts, verified first; services/up/promote.py)."""
    from services.up.promote import PRODUCER, ensure_promoted  # noqa: PLC0415 - numpy, onnx

    ctx.service = PRODUCER
    for name, ver, role in (
        (model, version, "the simulator's signal source"),
        (EXIT_MODEL, "1", "the position monitor's exit model"),
    ):
        done = ensure_promoted(ctx.kafka, ctx.serde, ctx.names, ctx.producer, name, ver)
        if done.already:
            click.echo(f"model: {name} {ver} already promoted ({done.uri})")
            continue
        before = f", replacing {done.replaced}" if done.replaced else ""
        click.echo(
            f"model: promoted {name} {ver}{before} — {role}; {done.uri} sha256 {done.sha256}"
        )


def _on_signals(stop_request: StopRequest) -> None:
    # No output here: a handler that writes could interrupt a write of the main code to
    # the same stream (a reentrant call); the stop itself says what it does.
    def handle(signum: int, _frame: FrameType | None) -> None:
        stop_request.request(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handle)


def _leave_stack(local: bool, stack_down: bool) -> None:
    if not local:
        if stack_down:
            click.echo("stack: external servers, not stopped (--stack-down is for the local stack)")
        return
    if stack_down:
        LocalStack().down()
        click.echo("stack: stopped (--stack-down)")
    else:
        click.echo("stack: left running (hfos stack status; hfos stack down stops it)")
