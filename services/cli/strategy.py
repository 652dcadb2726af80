"""``hfos strategy``: which strategy is in force, and switching it (SPEC §5).

A switch's scope, who and why are checked before anything touches the network; the
worker checks every switch again and dead-letters one that breaks the rules
(:mod:`streams.strategy.binding`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from schemas.enums import StrategyName
from schemas.errors import HfosError
from services.cli.context import Context
from services.cli.output import dumps, iso, printable
from services.cli.params import BY, REASON, ScopeParam

if TYPE_CHECKING:
    from services.strategy.view import StrategyView

pass_context = click.make_pass_decorator(Context, ensure=True)
DEFAULT_STRATEGY = StrategyName.MODERATE
"""``streams.strategy.DEFAULT_STRATEGY``, spelled here to keep the stream core (and its
imports) out of the CLI's start-up; a test keeps the two equal."""


@click.group()
def strategy() -> None:
    """Strategy presets in force: show, switch."""


class StrategyUnreadableError(HfosError):
    """``strategy.switched`` could not be read to its end: nothing was sent."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"could not read strategy.switched to its end within {seconds:.0f} s: is the "
            "broker up (hfos stack status) and are the topics provisioned (hfos topics "
            "create)? Nothing was sent."
        )


VIEW_SECONDS = 15.0


def _view(ctx: Context) -> StrategyView:
    from services.strategy.view import StrategyNotReadyError, StrategyView  # noqa: PLC0415

    view = StrategyView(ctx.kafka, ctx.names, ctx.serde)
    try:
        view.wait_caught_up(VIEW_SECONDS)
    except StrategyNotReadyError:
        view.close()
        raise StrategyUnreadableError(VIEW_SECONDS) from None
    return view


@strategy.command()
@click.option("--json", "as_json", is_flag=True, help="JSON; times in ISO-8601 UTC.")
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
                "at": iso(s.event_time),
            }
            for scope, s in sorted(switches.items())
        }
        click.echo(dumps({"default": DEFAULT_STRATEGY.value, "scopes": rows}))
        return
    if "global" not in switches:
        click.echo(f"{'global':24} {DEFAULT_STRATEGY.value:13} (default, never switched)")
    for scope, s in sorted(switches.items()):
        click.echo(
            f"{printable(scope):24} {s.strategy.value:13} v{s.version} by {printable(s.by)} "
            f"at {iso(s.event_time)}: {printable(s.reason)}"
        )


@strategy.command()
@click.argument("name", metavar="NAME", type=click.Choice([s.value for s in StrategyName]))
@click.option(
    "--scope",
    default="global",
    show_default=True,
    type=ScopeParam(kinds=("global", "account")),
    help="global | account:<id>",
)
@click.option("--by", required=True, type=BY, help="Who switches.")
@click.option("--reason", required=True, type=REASON, help="Why.")
@pass_context
def switch(ctx: Context, name: str, scope: str, by: str, reason: str) -> None:
    """Switch SCOPE to the preset NAME (conservative, moderate, aggressive or defensive);
    applied before the executor's next decision."""
    from services.strategy.view import publish_switch  # noqa: PLC0415 - start-up time

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
