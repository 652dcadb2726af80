"""``hfos orders``: the executor's latest decisions and the venue's failures, newest last.

Read from the topics themselves — ``order.requested`` (accepted), ``order.rejected`` (with
the typed reason) and ``order.failed`` (the venue could not execute) — merged by event
time. With ``--account`` only that account's records (the topics are keyed by account);
each partition is read backwards in windows until enough are found
(:mod:`services.bus.newest`), so a quiet account on a busy topic costs a bounded scan.
"""

from __future__ import annotations

import json
from typing import Any

import click

from services.cli.context import Context
from services.cli.output import iso, printable
from services.cli.params import ACCOUNT

pass_context = click.make_pass_decorator(Context, ensure=True)
MAX_LAST = 10_000
"""More than a screen can show; a bound so that ``--last`` cannot ask for a whole topic."""


@click.command()
@click.option("--account", type=ACCOUNT, help="Only this account (default: every account).")
@click.option(
    "--last",
    default=20,
    show_default=True,
    type=click.IntRange(1, MAX_LAST),
    help="How many of the newest records to show.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines; times in ISO-8601 UTC.")
@pass_context
def orders(ctx: Context, account: str | None, last: int, as_json: bool) -> None:
    """The executor's latest decisions and the venue's failures."""
    rows = _rows(ctx, account, last)
    if not rows and not as_json:
        click.echo(f"no orders{' for ' + account if account else ''} on record")
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=True) if as_json else _line(row))


def _rows(ctx: Context, account: str | None, last: int) -> list[dict[str, Any]]:
    from schemas.catalogue import ORDER_FAILED, ORDER_REJECTED, ORDER_REQUESTED  # noqa: PLC0415
    from schemas.contracts import contract  # noqa: PLC0415 - start-up time
    from schemas.values import to_json  # noqa: PLC0415 - start-up time
    from services.bus.newest import newest  # noqa: PLC0415 - start-up time

    rows = []
    key = None if account is None else account.encode()
    for spec, outcome in (
        (ORDER_REQUESTED, "REQUESTED"),
        (ORDER_REJECTED, "REJECTED"),
        (ORDER_FAILED, "FAILED"),
    ):
        target = contract(spec, ctx.names)
        for message in newest(ctx.kafka, target.topic, last, key).messages:
            record = ctx.serde.decode(target, message.value())
            rows.append(
                {
                    "time": iso(record["envelope"]["event_time"]),
                    "outcome": outcome,
                    "topic": target.topic,
                    "partition": message.partition(),
                    "offset": message.offset(),
                    "record": to_json(target.schema_name, record),
                }
            )
    rows.sort(key=lambda row: (row["time"], row["topic"], row["offset"]))
    return rows[-last:]


def _line(row: dict[str, Any]) -> str:
    record = row["record"]
    head = f"{row['time']} {printable(record['account_id']):16} {printable(record['symbol']):12}"
    outcome = row["outcome"]
    if outcome == "REQUESTED":
        reduce = " reduce-only" if record["reduce_only"] else ""
        what = (
            f"{record['side']} {record['quantity']:g} @ {record['price']:g} "
            f"(notional {record['notional']:g}, leverage {record['leverage']:g}{reduce}; "
            f"ESS {record['ess_state']}, {record['strategy']})"
        )
    elif outcome == "REJECTED":
        what = (
            f"{record['action']} confidence {record['confidence']:g}: {record['reason']} — "
            f"{printable(record['detail'])}"
        )
    else:
        what = f"{record['reason']} — {printable(record['detail'])}"
    return f"{head} {outcome:9} {what} [{record['order_id']}]"
