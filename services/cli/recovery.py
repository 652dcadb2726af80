"""``hfos recovery``: the supervisor's recovery history (SPEC §7)."""

from __future__ import annotations

import json
import time

import click

from services.cli.context import Context
from services.supervisor.history import as_json, as_text, parse_since, read_history

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def recovery() -> None:
    """What the supervisor saw and did: failures, attempts, outcomes, escalations."""


@recovery.command()
@click.option("--subsystem", help="Only this subsystem (kafka, redis, service:<name>, …).")
@click.option("--since", help="From this time (ISO-8601, UTC) or age (90s, 15m, 2h, 7d) on.")
@click.option("--json", "as_json_lines", is_flag=True, help="One JSON object per line.")
@pass_context
def history(ctx: Context, subsystem: str | None, since: str | None, as_json_lines: bool) -> None:
    """Every history line, oldest first: time, subsystem, episode, attempt, outcome, the
    backoff delay, how it is recovered, and the error or escalation."""
    since_ms = 0 if since is None else parse_since(since, int(time.time() * 1000))
    count = 0
    for line in read_history(
        ctx.kafka, ctx.serde, ctx.names, since_ms=since_ms, subsystem=subsystem
    ):
        count += 1
        click.echo(json.dumps(as_json(line)) if as_json_lines else as_text(line))
    if not count and not as_json_lines:
        click.echo("no recovery history" + (f" for {subsystem}" if subsystem else ""), err=True)
