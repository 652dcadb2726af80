"""``hfos breaker``: each account as the breaker holds it (``status``), and the operator
command that ends a breach episode (``reset``, SPEC §3)."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from schemas.catalogue import CIRCUIT_BREAKER_RESET, CIRCUIT_BREAKER_TRIGGERED
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.keys import streams_app_id
from schemas.values import iso_millis
from services.breaker.view import AccountView, read_accounts
from services.bus.inspect import TailOptions, tail
from services.cli.context import Context
from services.cli.params import ACCOUNT, AVRO_LONG_MAX, BY, REASON
from services.policy.view import PolicyView
from streams.policy.version import PolicyVersion

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def breaker() -> None:
    """The drawdown circuit breaker."""


@breaker.command()
@click.option("--account", required=True, type=ACCOUNT)
@click.option(
    "--episode",
    type=click.IntRange(1, AVRO_LONG_MAX),
    help="The episode to end (default: the account's latest trigger).",
)
@click.option("--rebase-peak", is_flag=True, help="Set the high-water mark to current equity.")
@click.option("--by", required=True, type=BY, help="Who resets it.")
@click.option("--reason", required=True, type=REASON, help="Why.")
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


@breaker.command()
@click.option("--account", type=ACCOUNT, help="Only this account.")
@click.option("--app-id", help="The stream worker's app id (default: <prefix>hfos-streams).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (times ISO-8601 UTC).")
@pass_context
def status(ctx: Context, account: str | None, app_id: str | None, as_json: bool) -> None:
    """Equity, peak, drawdown and daily loss against their limits, open positions,
    episode and latch of every account (or ACCOUNT), as the breaker holds them."""
    accounts = read_accounts(ctx.kafka, app_id or streams_app_id(ctx.names.prefix))
    if account is not None:
        accounts = {k: v for k, v in accounts.items() if k == account}
        if not accounts:
            raise click.ClickException(f"the breaker holds no state for {account!r}")
    active = _active_policy(ctx)
    rows = [_row(view, active) for _, view in sorted(accounts.items())]
    if as_json:
        click.echo(json.dumps({"policy": _policy_json(active), "accounts": rows}, indent=2))
        return
    click.echo(_policy_line(active))
    if not rows:
        click.echo("no account has reached the breaker yet")
    for row in rows:
        click.echo(_line(row))


def _active_policy(ctx: Context) -> PolicyVersion | None:
    view = PolicyView(ctx.kafka, ctx.names, ctx.serde)
    try:
        view.caught_up.wait(30)
        return view.state().active()
    finally:
        view.close()


def _row(view: AccountView, active: PolicyVersion | None) -> dict[str, Any]:
    state = view.state
    limits = active.values if active is not None else None
    return {
        "account": state.account_id,
        "equity": state.equity,
        "peak_equity": state.peak_equity,
        "day_start_equity": state.day_start_equity,
        "drawdown": view.drawdown,
        "max_drawdown": None if limits is None else limits.max_drawdown,
        "daily_loss": view.daily_loss,
        "max_daily_loss": None if limits is None else limits.max_daily_loss,
        "open_positions": dict(sorted(state.positions.items())),
        "episode": state.episode,
        "latched": state.latched,
        "sequence": state.sequence,
        "last_update": None if state.last_equity_at is None else iso_millis(state.last_equity_at),
    }


def _policy_json(active: PolicyVersion | None) -> dict[str, Any] | None:
    if active is None:
        return None
    return {"profile": active.profile.value, "version": active.version, "hash": active.hash}


def _policy_line(active: PolicyVersion | None) -> str:
    if active is None:
        return "policy: none active (the breaker judges nothing until one is)"
    return f"policy: {active.profile.value} v{active.version} ({active.hash[:12]}…)"


def _line(row: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.2f}%"

    latch = f"TRIPPED (episode {row['episode']})" if row["latched"] else f"episode {row['episode']}"
    money = "-" if row["equity"] is None else f"{row['equity']:,.2f}"
    peak = "-" if row["peak_equity"] is None else f"{row['peak_equity']:,.2f}"
    return (
        f"{row['account']:24} equity {money:>14} peak {peak:>14} "
        f"drawdown {pct(row['drawdown'])}/{pct(row['max_drawdown'])} "
        f"daily loss {pct(row['daily_loss'])}/{pct(row['max_daily_loss'])} "
        f"open {len(row['open_positions'])} {latch} last {row['last_update'] or '-'}"
    )
