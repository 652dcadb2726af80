"""``hfos strategy``: which strategy is in force, and switching it (SPEC §5)."""

from __future__ import annotations

import json

import click

from schemas.enums import StrategyName
from schemas.values import iso_millis
from services.cli.context import Context
from services.strategy.view import StrategyView, publish_switch
from streams.strategy import DEFAULT_STRATEGY
from streams.strategy.switches import switch_scope

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def strategy() -> None:
    """Strategy presets in force: show, switch."""


def _view(ctx: Context) -> StrategyView:
    view = StrategyView(ctx.kafka, ctx.names, ctx.serde)
    try:
        view.wait_caught_up(30)
    except Exception:
        view.close()
        raise
    return view


@strategy.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show(ctx: Context, as_json: bool) -> None:
    """Every scope's strategy; an account without its own follows global."""
    view = _view(ctx)
    switches = view.switches()
    view.close()
    if as_json:
        rows = {
            scope: {
                "strategy": s.strategy.value,
                "version": s.version,
                "by": s.by,
                "reason": s.reason,
                "at": iso_millis(s.event_time),
            }
            for scope, s in sorted(switches.items())
        }
        click.echo(json.dumps({"default": DEFAULT_STRATEGY.value, "scopes": rows}, indent=2))
        return
    if "global" not in switches:
        click.echo(f"{'global':24} {DEFAULT_STRATEGY.value:13} (default, never switched)")
    for scope, s in sorted(switches.items()):
        click.echo(
            f"{scope:24} {s.strategy.value:13} v{s.version} by {s.by} "
            f"at {iso_millis(s.event_time)}: {s.reason}"
        )


@strategy.command()
@click.argument("name", type=click.Choice([s.value for s in StrategyName]))
@click.option("--scope", default="global", show_default=True, help="global | account:<id>")
@click.option("--by", required=True, help="Who switches.")
@click.option("--reason", required=True, help="Why.")
@pass_context
def switch(ctx: Context, name: str, scope: str, by: str, reason: str) -> None:
    """Switch SCOPE to the preset NAME; applied before the executor's next decision."""
    scope = str(switch_scope(scope))  # refuses a malformed scope, naming it
    view = _view(ctx)
    held = view.switches()
    view.close()
    target = StrategyName(name)
    current = held.get(scope)
    version = 1 if current is None else current.version + 1
    previous = None if current is None else current.strategy
    publish_switch(ctx.producer, ctx.names, scope, target, version, previous, by, reason)
    was = DEFAULT_STRATEGY.value if previous is None else previous.value
    click.echo(f"{scope}: {was} -> {target.value} (v{version})")
