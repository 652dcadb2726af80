"""``hfos breaker reset``: the operator command that ends a breach episode (SPEC §3)."""

from __future__ import annotations

import time

import click

from schemas.catalogue import CIRCUIT_BREAKER_RESET, CIRCUIT_BREAKER_TRIGGERED
from schemas.contracts import contract
from schemas.envelope import envelope
from services.bus.inspect import TailOptions, tail
from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def breaker() -> None:
    """The drawdown circuit breaker."""


@breaker.command()
@click.option("--account", required=True)
@click.option(
    "--episode",
    type=click.IntRange(min=1),
    help="The episode to end (default: the account's latest trigger).",
)
@click.option("--rebase-peak", is_flag=True, help="Set the high-water mark to current equity.")
@click.option("--by", required=True)
@click.option("--reason", required=True)
@pass_context
def reset(
    ctx: Context,
    account: str,
    episode: int | None,
    rebase_peak: bool,
    by: str,
    reason: str,
) -> None:
    """End ACCOUNT's latched breach episode; only this un-latches a breaker."""
    if episode is None:
        episode = _latest_episode(ctx, account)
    record = {
        "envelope": envelope("hfos-cli", int(time.time() * 1000)),
        "account_id": account,
        "episode": episode,
        "by": by,
        "reason": reason,
        "rebase_peak": rebase_peak,
    }
    ctx.producer.send(contract(CIRCUIT_BREAKER_RESET, ctx.names), account, record)
    if ctx.producer.flush(30):
        raise click.ClickException("the reset was not acknowledged within 30 s")
    click.echo(
        f"reset sent for {account} episode {episode}{' (peak rebased)' if rebase_peak else ''}"
    )


def _latest_episode(ctx: Context, account: str) -> int:
    topic = ctx.names.name(CIRCUIT_BREAKER_TRIGGERED)
    episodes = [
        int(line["value"]["episode"])
        for line in tail(ctx.kafka, ctx.names, ctx.serde, topic, TailOptions(from_beginning=True))
        if line.get("value", {}).get("account_id") == account
    ]
    if not episodes:
        raise click.ClickException(f"{account} has no breach on record: nothing to reset")
    return max(episodes)
