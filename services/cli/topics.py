"""``hfos topics``: provision, list, describe, tail and produce."""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

import click

from schemas.catalogue import TopicSpec
from services.bus import inspect, jsonlines
from services.bus.topics import Outcome, TopicMismatchError, provision
from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def topics() -> None:
    """Inspect and provision the catalogue's topics."""


@topics.command()
@click.option("--replication-factor", default=1, show_default=True, type=click.IntRange(1, 32))
@pass_context
def create(ctx: Context, replication_factor: int) -> None:
    """Create every catalogue topic that is missing (idempotent); report drift."""
    reports = provision(ctx.admin, ctx.names.specs(), replication_factor)
    for report in reports:
        click.echo(f"{report.outcome.value:10} {report.topic}")
    mismatched = [r for r in reports if r.outcome is Outcome.MISMATCHED]
    if mismatched:
        raise TopicMismatchError(mismatched)


@topics.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per topic.")
@pass_context
def list_(ctx: Context, as_json: bool) -> None:
    """Every catalogue topic: partitions, records, end offset and consumer-group lag."""
    specs = ctx.names.specs()
    offsets = inspect.topic_offsets(ctx.admin, [spec.name for spec in specs])
    for spec in specs:
        found = offsets.get(spec.name)
        row = _row(spec, found)
        if as_json:
            click.echo(json.dumps(row))
        else:
            lag = ", ".join(f"{g}={n}" for g, n in row["lag"].items()) or "-"
            state = f"{row['partitions']:>2}p {row['records']:>9} records" if found else "MISSING"
            click.echo(f"{spec.name:48} {state:24} lag: {lag}")


def _row(spec: TopicSpec, found: inspect.TopicOffsets | None) -> dict[str, Any]:
    return {
        "topic": spec.name,
        "exists": found is not None,
        "partitions": found.partitions if found else 0,
        "records": found.records if found else 0,
        "end_offsets": found.high if found else {},
        "lag": found.lag if found else {},
    }


@topics.command()
@click.argument("topic")
@pass_context
def describe(ctx: Context, topic: str) -> None:
    """A topic's catalogue entry, partitions with watermarks, and consumer-group lag."""
    spec = ctx.names.spec_of(topic)
    found = inspect.topic_offsets(ctx.admin, [topic]).get(topic)
    payload = {
        "topic": topic,
        "key": spec.key,
        "value_schema": spec.value_schema,
        "cleanup": spec.cleanup,
        "retention_ms": spec.retention_ms,
        "catalogue_partitions": spec.partitions,
        "description": spec.description,
        "exists": found is not None,
        "partitions": [
            {"partition": p, "low": found.low.get(p), "high": h}
            for p, h in sorted(found.high.items())
        ]
        if found
        else [],
        "lag": found.lag if found else {},
    }
    click.echo(json.dumps(payload, indent=2))


@topics.command()
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at each partition's first record.")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new records.")
@click.option("--max", "max_records", type=click.IntRange(min=1), help="Stop after N records.")
@click.option(
    "--last",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Without --from-beginning: newest records per partition to start with.",
)
@pass_context
def tail(
    ctx: Context,
    topic: str,
    from_beginning: bool,
    follow: bool,
    max_records: int | None,
    last: int,
) -> None:
    """Print a topic's records as JSON lines (decoded through the registry)."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    options = inspect.TailOptions(from_beginning, follow, max_records, last)
    for line in inspect.tail(ctx.kafka, ctx.names, ctx.serde, topic, options, lambda: stopping):
        click.echo(inspect.dumps(line))


@topics.command()
@click.argument("topic")
@click.option("--key-field", help="For bare records: the field whose value is the key.")
@pass_context
def produce(ctx: Context, topic: str, key_field: str | None) -> None:
    """Produce JSON lines from stdin, all validated first: one bad line sends nothing."""
    batch = jsonlines.prepare(sys.stdin, topic, ctx.names, ctx.serde, key_field)
    sent = jsonlines.send(ctx.producer, topic, batch)
    click.echo(f"sent {sent} events to {topic}", err=True)
