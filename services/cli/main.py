"""``hfos``: the entry point that gathers the command groups.

Start-up time is an operator's time: ``hfos --help`` took 2 s and every command 3-9 s,
~3.4 s of it imports (faust, pulled in by commands that never run a worker). So the
command modules are imported only when their command runs (:class:`LazyGroup`); the
table below spells each command's one-line help so that ``hfos --help`` imports
nothing but click. ``tests/services/cli/test_main.py`` keeps the table equal to the
commands' own help, and ``bench/cli.py`` measures the start-up.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

import click

from schemas.errors import HfosError

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attribute, the command's one-line help)
    "stack": ("services.cli.stack:stack", "Run the real servers locally on free loopback ports."),
    "topics": (
        "services.cli.topics:topics",
        "Inspect, provision and delete the catalogue's topics.",
    ),
    "schemas": ("services.cli.schemas:schemas", "Check and register the Avro contracts."),
    "policy": (
        "services.cli.policy:policy",
        "Risk profiles: versioned, validated, compare-and-set.",
    ),
    "breaker": ("services.cli.breaker:breaker", "The drawdown circuit breaker."),
    "ess": ("services.cli.ess:ess", "Emergency stop: status, trip, reduce, reset."),
    "positions": (
        "services.cli.positions:positions",
        "Open positions, wallet and equity per account, from the venue's latest snapshot.",
    ),
    "orders": (
        "services.cli.orders:orders",
        "The executor's latest decisions and the venue's failures.",
    ),
    "demo": (
        "services.cli.demo:demo",
        "Run the seven scenarios of SPEC §9 end to end and judge each from its topics.",
    ),
    "worker": ("services.cli.worker:worker", "Run the stream worker until SIGTERM/SIGINT."),
    "executor": (
        "services.cli.executor:executor",
        "The executor: every trade signal becomes an order or a typed rejection.",
    ),
    "strategy": ("services.cli.strategy:strategy", "Strategy presets in force: show, switch."),
    "exchange": (
        "services.cli.exchange:exchange",
        "The paper exchange: fills orders at the simulated market price.",
    ),
    "simulate": (
        "services.cli.simulate:simulate",
        "The market simulator: prices and signals for demos and tests.",
    ),
    "up": (
        "services.cli.up:up",
        "Run worker, executor, paper exchange and simulator together, each logging to a file.",
    ),
    "model": (
        "services.cli.model:model",
        "Models: build an ONNX exit model, promote it safely, watch and roll back.",
    ),
    "monitor": (
        "services.cli.monitor:monitor",
        "The position monitor: closes positions the exit model says to close, and asks the "
        "emergency stop for REDUCING/TRIPPED on a flash crash.",
    ),
    "supervise": (
        "services.cli.supervise:supervise",
        "Supervise Kafka, the registry, Redis, the price feed and the services' heartbeats.",
    ),
    "recovery": (
        "services.cli.recovery:recovery",
        "What the supervisor saw and did: failures, attempts, outcomes, escalations.",
    ),
}

LIBRDKAFKA_LOGGER = "hfos.librdkafka"
"""The logger librdkafka's own lines go through (``services.bus.producer.LIBRDKAFKA_LOG``);
spelled here so that configuring it imports no Kafka client."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported when they run, not when the group is built."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self._lazy, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._lazy:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = self._lazy[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}:{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:  # noqa: ARG002 - click's signature
        """The command list from the table: ``hfos --help`` imports no command module."""
        rows = [(name, help_) for name, (_target, help_) in self._lazy.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(package_name="hfos")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log to stderr: -v hfos and librdkafka at INFO, -vv at DEBUG (default: quiet).",
)
def cli(verbose: int) -> None:
    """hfos: the real-time control plane of an automated trading system, on Kafka."""
    configure_logging(verbose)


def configure_logging(verbose: int) -> None:
    """Quiet by default: librdkafka's own lines (a refused connection, retried every
    second) never reach the terminal unless asked; with the broker away they were ~580
    lines in 33 s. Errors of the command itself are printed by :func:`main`."""
    librdkafka = logging.getLogger(LIBRDKAFKA_LOGGER)
    if verbose == 0:
        # A handler of its own keeps Python's last-resort handler (WARNING to stderr)
        # away; records still propagate to a handler a service configures (hfos worker).
        if not any(isinstance(h, logging.NullHandler) for h in librdkafka.handlers):
            librdkafka.addHandler(logging.NullHandler())
        return
    logging.basicConfig(
        level=logging.INFO if verbose == 1 else logging.DEBUG,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; an hfos error is printed as one clear line and exit status 1 or 2."""
    try:
        args = list(argv) if argv is not None else None
        code = cli.main(args=args, prog_name="hfos", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except HfosError as error:
        click.echo(f"hfos: {type(error).__name__}: {error}", err=True)
        sys.exit(1)
    except Exception as error:
        kafka = sys.modules.get("confluent_kafka")  # loaded if it can have raised
        if kafka is None or not isinstance(error, kafka.KafkaException):
            raise
        click.echo(
            f"hfos: Kafka error: {error.args[0].str()} (is the broker up? hfos stack status)",
            err=True,
        )
        sys.exit(1)
    if isinstance(code, int) and code:  # ctx.exit(N) returns N when not standalone
        sys.exit(code)


if __name__ == "__main__":
    main()
