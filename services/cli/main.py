"""``hfos``: the entry point that gathers the command groups."""

from __future__ import annotations

import sys

import click
from confluent_kafka import KafkaException

from schemas.errors import HfosError
from services.cli.breaker import breaker
from services.cli.demo import demo
from services.cli.ess import ess
from services.cli.exchange import exchange
from services.cli.executor import executor
from services.cli.model import model
from services.cli.monitor import monitor
from services.cli.policy import policy
from services.cli.schemas import schemas
from services.cli.simulate import simulate
from services.cli.stack import stack
from services.cli.strategy import strategy
from services.cli.topics import topics
from services.cli.up import up
from services.cli.worker import worker


@click.group()
@click.version_option(package_name="hfos")
def cli() -> None:
    """hfos: the real-time control plane of an automated trading system, on Kafka."""


for group in (
    stack,
    topics,
    schemas,
    policy,
    breaker,
    ess,
    demo,
    worker,
    executor,
    strategy,
    exchange,
    simulate,
    up,
    model,
    monitor,
):
    cli.add_command(group)


def main() -> None:
    """Run the CLI; an hfos error is printed as one clear line and exit status 1 or 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except HfosError as error:
        click.echo(f"hfos: {type(error).__name__}: {error}", err=True)
        sys.exit(1)
    except KafkaException as error:
        click.echo(
            f"hfos: Kafka error: {error.args[0].str()} (is the broker up? hfos stack status)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
