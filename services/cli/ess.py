"""``hfos ess``: the emergency stop's state, and operator commands to it (SPEC §4)."""

from __future__ import annotations

import json
import time
import uuid

import click

from schemas.catalogue import ESS_COMMAND, ESS_TRANSITION, ESS_UNCHANGED
from schemas.enums import EssCommandKind, EssTrigger
from schemas.envelope import envelope
from schemas.values import iso_millis
from services.bus.commands import CommandClient
from services.cli.context import Context
from services.ess.view import EssView
from streams.ess.scope import Scope

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def ess() -> None:
    """Emergency stop: status, trip, reduce, reset."""


def _view(ctx: Context) -> EssView:
    view = EssView(ctx.kafka, ctx.names, ctx.serde)
    if not view.caught_up.wait(30):
        view.close()
        raise click.ClickException(
            "NOT READY: ess.state not read to its end within 30 s; "
            "new risk must be refused until it is"
        )
    return view


@ess.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """Every scope that ever changed; unlisted scopes are ARMED at version 0."""
    view = _view(ctx)
    states = view.states()
    view.close()
    if as_json:
        click.echo(json.dumps({"ready": True, "scopes": states}, indent=2, default=str))
        return
    if not states:
        click.echo("all scopes ARMED (no state recorded yet)")
    for scope, record in sorted(states.items()):
        until = record.get("cooldown_until")
        extra = f" until {iso_millis(until)}" if until else ""
        click.echo(
            f"{scope:32} {record['state']:13} v{record['version']} ({record['trigger']}{extra})"
        )


def _send(
    ctx: Context, kind: EssCommandKind, scope: str, by: str, reason: str, expect_version: int | None
) -> None:
    parsed = Scope.parse(scope)  # refuses a malformed scope, naming it
    command_id = str(uuid.uuid4())
    record = {
        "envelope": envelope("hfos-cli", int(time.time() * 1000), event_id=command_id),
        "command_id": command_id,
        "scope": str(parsed),
        "kind": kind.value,
        "trigger": EssTrigger.MANUAL.value,
        "expected_version": expect_version,
        "by": by,
        "reason": reason,
        "cause_event_id": None,
    }
    client = CommandClient(
        ctx.kafka, ctx.names, ctx.serde, ctx.producer, ESS_COMMAND, (ESS_TRANSITION,), ESS_UNCHANGED
    )
    answer = client.submit(str(parsed), record, command_id)
    found = answer.record
    if answer.unchanged:
        click.echo(f"{parsed}: unchanged ({found['why']}): {found['detail']}")
        return
    click.echo(f"{parsed}: {found['previous']} -> {found['state']} (v{found['version']})")


def _command(kind: EssCommandKind) -> click.Command:
    @click.command(name=kind.value.lower(), help=f"Send {kind.value} for a scope.")
    @click.option(
        "--scope", required=True, help="global | account:<id> | strategy:<name> | symbol:<sym>"
    )
    @click.option("--by", required=True)
    @click.option("--reason", required=True)
    @click.option(
        "--expect-version",
        type=int,
        help="Compare-and-set on the scope's state version (default: current).",
    )
    @pass_context
    def send(ctx: Context, scope: str, by: str, reason: str, expect_version: int | None) -> None:
        if expect_version is None:
            view = _view(ctx)
            held = view.states().get(str(Scope.parse(scope)))
            view.close()
            expect_version = 0 if held is None else int(held["version"])
        _send(ctx, kind, scope, by, reason, expect_version)

    return send


for _kind in (EssCommandKind.TRIP, EssCommandKind.REDUCE, EssCommandKind.RESET):
    ess.add_command(_command(_kind))
