"""``hfos positions``: every open position of an account (or of every account) as the
venue last reported it.

Read from ``account.updated`` — the venue's whole account after each change, with its
per-account sequence — never from ``position.updated``/``position.closed``: Kafka orders
no two topics against each other, and a position closed on one topic could still look
open on the other (SPEC §1, delivery order). Each partition is read backwards in windows
(:mod:`services.bus.newest`): with ``--account`` one account's newest snapshot; without,
the newest snapshot of every account seen within the scan budget.
"""

from __future__ import annotations

import json
from typing import Any

import click

from services.cli.context import Context
from services.cli.output import iso, printable
from services.cli.params import ACCOUNT

pass_context = click.make_pass_decorator(Context, ensure=True)
SCAN_BUDGET = 200_000
"""Offsets read at most without ``--account``: an account with no update among the newest
200 000 is not listed (say ``--account`` for it)."""


@click.command()
@click.option("--account", type=ACCOUNT, help="Only this account (default: every account).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines; times in ISO-8601 UTC.")
@pass_context
def positions(ctx: Context, account: str | None, as_json: bool) -> None:
    """Open positions, wallet and equity per account, from the venue's latest snapshot."""
    rows = _latest(ctx, account)
    if not rows:
        if as_json:
            return
        raise click.ClickException(
            f"no account update on record{' for ' + account if account else ''}"
        )
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=True) if as_json else _lines(row))


def _latest(ctx: Context, account: str | None) -> list[dict[str, Any]]:
    from schemas.catalogue import ACCOUNT_UPDATED  # noqa: PLC0415 - start-up time
    from schemas.contracts import contract  # noqa: PLC0415 - start-up time
    from services.bus.newest import newest  # noqa: PLC0415 - start-up time

    target = contract(ACCOUNT_UPDATED, ctx.names)
    key = None if account is None else account.encode()
    count = 1 if account is not None else SCAN_BUDGET
    found = newest(ctx.kafka, target.topic, count, key, budget=SCAN_BUDGET).messages
    latest: dict[str, dict[str, Any]] = {}
    for message in found:
        record = ctx.serde.decode(target, message.value())
        held = latest.get(record["account_id"])
        if held is None or held["sequence"] < record["sequence"]:
            latest[record["account_id"]] = record
    return [_row(record) for _, record in sorted(latest.items())]


def _row(record: dict[str, Any]) -> dict[str, Any]:
    unrealized = sum(float(p["unrealized_pnl"]) for p in record["positions"])
    equity = record.get("equity")
    return {
        "account": record["account_id"],
        "sequence": record["sequence"],
        "as_of": iso(record["envelope"]["event_time"]),
        "wallet_balance": record["wallet_balance"],
        "equity": float(record["wallet_balance"]) + unrealized if equity is None else equity,
        "positions": [
            {key: position[key] for key in _POSITION_FIELDS} for position in record["positions"]
        ],
    }


_POSITION_FIELDS = (
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "mark_price",
    "unrealized_pnl",
    "leverage",
)


def _lines(row: dict[str, Any]) -> str:
    head = (
        f"{printable(row['account'])}: equity {row['equity']:,.2f} "
        f"(wallet {row['wallet_balance']:,.2f}) as of {row['as_of']} (update {row['sequence']})"
    )
    if not row["positions"]:
        return f"{head}\n  no open position"
    body = [
        f"  {printable(p['symbol']):12} {p['side']:5} {p['quantity']:g} "
        f"entry {p['entry_price']:g} mark {p['mark_price']:g} "
        f"unrealized {p['unrealized_pnl']:,.2f} leverage {p['leverage']:g}"
        for p in row["positions"]
    ]
    return "\n".join([head, *body])
