"""``hfos stack``: the local Kafka, schema registry and Redis."""

from __future__ import annotations

import json
import time

import click

from services.localstack.stack import LocalStack


@click.group()
def stack() -> None:
    """Run the real servers locally on free loopback ports."""


@stack.command()
def up() -> None:
    """Start Kafka, Apicurio Registry and Redis (idempotent) and print their addresses."""
    started = time.monotonic()
    state = LocalStack().up()
    for variable, address in state.addresses().items():
        click.echo(f"{variable}={address}")
    click.echo(f"# stack ready in {time.monotonic() - started:.1f} s", err=True)


@stack.command()
@click.option("--purge", is_flag=True, help="Also delete the servers' data and state.")
def down(purge: bool) -> None:
    """Stop every server of the local stack."""
    LocalStack().down(purge=purge)


@stack.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Show each server's address, pid and health; exit 1 unless all are healthy."""
    statuses = LocalStack().status()
    if as_json:
        payload = {
            s.name: {
                "address": s.address,
                "pid": s.pid,
                "running": s.running,
                "healthy": s.healthy,
                "problem": s.problem,
            }
            for s in statuses
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for s in statuses:
            health = "healthy" if s.healthy else f"DOWN ({s.problem})"
            click.echo(f"{s.name:9} {s.address or '-':45} pid={s.pid or '-':<8} {health}")
    if not all(s.healthy for s in statuses):
        raise SystemExit(1)
