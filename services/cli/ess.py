"""``hfos ess``: the emergency stop's state, and operator commands to it (SPEC §4).

Every argument is checked before anything touches the network (a scope by the one name
rule, who and why as printable text, a version an Avro ``long`` holds). Every command is
answered by the ESS owner: the change it made, the state in force and why nothing changed,
or its typed refusal.

TRIP and REDUCE only tighten, so they are sent without a compare-and-set version unless
``--expect-version`` asks for one: a protective command does not first wait to read the
state, and is never refused because the state moved meanwhile. RESET loosens and carries
the version just read (SPEC §4).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import click

from schemas.enums import EssCommandKind, EssTrigger
from schemas.errors import HfosError
from services.cli.context import Context
from services.cli.output import dumps, iso, printable
from services.cli.params import BY, REASON, VERSION, ScopeParam

if TYPE_CHECKING:
    from services.bus.commands import Answer
    from services.ess.view import EssView

pass_context = click.make_pass_decorator(Context, ensure=True)
VIEW_SECONDS = 15.0
"""Waiting longer for a broker that does not answer only delays telling the operator."""


class EssUnreadableError(HfosError):
    """``ess.state`` could not be read to its end: the state is unknown here."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"could not read ess.state to its end within {seconds:.0f} s: is the broker up "
            "(hfos stack status) and are the topics provisioned (hfos topics create)?"
        )


class CommandNotSentError(HfosError):
    """The command never left this process: the scope is untouched by it."""

    def __init__(self, kind: str, scope: str, problem: str) -> None:
        super().__init__(
            f"{kind} of {scope} was NOT sent ({problem}): is the broker up (hfos stack "
            "status)? The scope's state is unchanged by this command."
        )


@click.group()
def ess() -> None:
    """Emergency stop: status, trip, reduce, reset."""


def _view(ctx: Context) -> EssView:
    from services.ess.view import EssView  # noqa: PLC0415 - start-up time

    view = EssView(ctx.kafka, ctx.names, ctx.serde)
    if not view.caught_up.wait(VIEW_SECONDS):
        view.close()
        raise EssUnreadableError(VIEW_SECONDS)
    return view


@ess.command()
@click.option("--scope", type=ScopeParam(), help="Only this scope (default: every scope).")
@click.option("--json", "as_json", is_flag=True, help="JSON; times in ISO-8601 UTC.")
@pass_context
def status(ctx: Context, scope: str | None, as_json: bool) -> None:
    """Every scope that ever changed, with who and why; unlisted scopes are ARMED (v0)."""
    view = _view(ctx)
    states = view.states()
    view.close()
    if scope is not None:
        states = {scope: states[scope]} if scope in states else {}
    rows = {name: _row(record) for name, record in sorted(states.items())}
    if as_json:
        click.echo(dumps({"ready": True, "scopes": rows}))
        return
    if not rows:
        click.echo(f"{scope or 'all scopes'} ARMED (no state recorded yet)")
    for name, row in rows.items():
        click.echo(_line(name, row))


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "state": record["state"],
        "version": record["version"],
        "since": iso(record["since"]),
        "trigger": record["trigger"],
        "cooldown_until": iso(record.get("cooldown_until")),
        "by": record.get("by"),
        "reason": record.get("reason"),
    }


def _line(scope: str, row: dict[str, Any]) -> str:
    until = f" until {row['cooldown_until']}" if row["cooldown_until"] else ""
    who = printable(row["by"] or "-")
    why = printable(row["reason"] or "-")
    return (
        f"{printable(scope):32} {row['state']:12} v{row['version']:<4} since {row['since']}"
        f"{until} ({row['trigger']}) by {who}: {why}"
    )


def _send(
    ctx: Context,
    kind: EssCommandKind,
    scope: str,
    by: str,
    reason: str,
    expect_version: int | None,
) -> Answer:
    from confluent_kafka import KafkaException  # noqa: PLC0415 - start-up time

    from schemas.catalogue import ESS_COMMAND, ESS_TRANSITION, ESS_UNCHANGED  # noqa: PLC0415
    from schemas.envelope import envelope  # noqa: PLC0415 - start-up time
    from services.bus.commands import CommandClient  # noqa: PLC0415 - start-up time

    command_id = str(uuid.uuid4())
    record = {
        "envelope": envelope("hfos-cli", int(time.time() * 1000), event_id=command_id),
        "command_id": command_id,
        "scope": scope,
        "kind": kind.value,
        "trigger": EssTrigger.MANUAL.value,
        "expected_version": expect_version,
        "by": by,
        "reason": reason,
        "cause_event_id": None,
    }
    client = CommandClient(
        ctx.kafka,
        ctx.names,
        ctx.serde,
        ctx.producer,
        ESS_COMMAND,
        (ESS_TRANSITION,),
        ESS_UNCHANGED,
    )
    try:
        return client.submit(scope, record, command_id)
    except KafkaException as error:  # raised before the send: nothing left this process
        raise CommandNotSentError(kind.value, scope, error.args[0].str()) from None


def _echo_answer(scope: str, answer: Answer) -> None:
    record = answer.record
    if answer.unchanged:
        click.echo(f"{scope}: unchanged ({record['why']}): {printable(record['detail'])}")
        return
    click.echo(f"{scope}: {record['previous']} -> {record['state']} (v{record['version']})")


_TIGHTENING = frozenset({EssCommandKind.TRIP, EssCommandKind.REDUCE})


def _command(kind: EssCommandKind, help_: str) -> click.Command:
    @click.command(name=kind.value.lower(), help=help_)
    @click.option(
        "--scope",
        required=True,
        type=ScopeParam(),
        help="global | account:<id> | strategy:<name> | symbol:<sym>",
    )
    @click.option("--by", required=True, type=BY, help="Who (printable, at most 64 characters).")
    @click.option(
        "--reason", required=True, type=REASON, help="Why (printable, at most 500 characters)."
    )
    @click.option(
        "--expect-version",
        type=VERSION,
        help="Compare-and-set on the scope's state version "
        + (
            "(default: none; tightening needs none)."
            if kind in _TIGHTENING
            else "(default: current)."
        ),
    )
    @pass_context
    def send(ctx: Context, scope: str, by: str, reason: str, expect_version: int | None) -> None:
        if expect_version is None and kind not in _TIGHTENING:
            view = _view(ctx)
            held = view.states().get(scope)
            view.close()
            expect_version = 0 if held is None else int(held["version"])
        _echo_answer(scope, _send(ctx, kind, scope, by, reason, expect_version))

    return send


ess.add_command(_command(EssCommandKind.TRIP, "TRIPPED: refuse every new order in SCOPE."))
ess.add_command(
    _command(EssCommandKind.REDUCE, "REDUCING: only orders that reduce a position pass.")
)
ess.add_command(
    _command(EssCommandKind.RESET, "Leave TRIPPED/REDUCING through COOLING_DOWN (then ARMED).")
)
