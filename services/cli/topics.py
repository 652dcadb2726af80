"""``hfos topics``: provision, list, describe, tail, produce and delete.

A TOPIC argument is a catalogue name (``order.rejected``), resolved under
``HFOS_TOPIC_PREFIX``, or the full prefixed name; an unknown one is refused with the
closest catalogue names, before anything touches the network.
"""

from __future__ import annotations

import difflib
import json
import re
import signal
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from schemas.catalogue import ALL_TOPICS, TopicSpec, UnknownTopicError, topic_config
from services.cli.context import Context
from services.cli.output import dumps

if TYPE_CHECKING:
    from services.bus.inspect import TopicOffsets

pass_context = click.make_pass_decorator(Context, ensure=True)


class TopicParam(click.ParamType):
    """A catalogue topic: its catalogue name or its full name under the prefix."""

    name = "TOPIC"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        names = _context(ctx).names
        try:
            names.spec_of(text)
        except UnknownTopicError:
            pass
        else:
            return text  # the full name under the prefix
        catalogue = [spec.name for spec in ALL_TOPICS]
        if text in catalogue:
            return f"{names.prefix}{text}"
        close = difflib.get_close_matches(text.removeprefix(names.prefix), catalogue, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return self.fail(
            f"{text!r} is not a catalogue topic{hint} (hfos topics list shows them all)",
            param,
            ctx,
        )


def _context(ctx: click.Context | None) -> Context:
    """The command's :class:`Context` (the one ``pass_context`` hands it later)."""
    return Context() if ctx is None else ctx.ensure_object(Context)


TOPIC = TopicParam()


@click.group()
def topics() -> None:
    """Inspect, provision and delete the catalogue's topics."""


@topics.command()
@click.option("--replication-factor", default=1, show_default=True, type=click.IntRange(1, 32))
@pass_context
def create(ctx: Context, replication_factor: int) -> None:
    """Create every catalogue topic that is missing (idempotent); report drift."""
    from services.bus.topics import Outcome, TopicMismatchError, provision  # noqa: PLC0415

    reports = provision(ctx.admin, ctx.names.specs(), replication_factor)
    for report in reports:
        click.echo(f"{report.outcome.value:10} {report.topic}")
    mismatched = [r for r in reports if r.outcome is Outcome.MISMATCHED]
    if mismatched:
        raise TopicMismatchError(mismatched)


def _offsets(ctx: Context, names: list[str]) -> dict[str, TopicOffsets]:
    from services.bus.counting import count_records  # noqa: PLC0415 - start-up time
    from services.bus.inspect import topic_offsets  # noqa: PLC0415 - start-up time

    found = topic_offsets(ctx.admin, names)
    count_records(ctx.kafka, found.values())
    return found


@topics.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per topic.")
@pass_context
def list_(ctx: Context, as_json: bool) -> None:
    """Every catalogue topic: partitions, records, end offsets and consumer-group lag.

    Records and lag count what a consumer reads (transaction markers and aborted records
    are not records); a topic of more than 200 000 offsets shows offset spans, marked <=."""
    specs = ctx.names.specs()
    offsets = _offsets(ctx, [spec.name for spec in specs])
    for spec in specs:
        found = offsets.get(spec.name)
        row = _row(spec, found)
        if as_json:
            click.echo(json.dumps(row))
            continue
        bound = "" if row["exact"] else "<="
        lag = ", ".join(f"{g}={bound}{n}" for g, n in row["lag"].items()) or "-"
        records = f"{bound}{row['records']}"
        state = f"{row['partitions']:>2}p {records:>9} records" if found else "MISSING"
        click.echo(f"{spec.name:48} {state:24} lag: {lag}")


def _row(spec: TopicSpec, found: TopicOffsets | None) -> dict[str, Any]:
    return {
        "topic": spec.name,
        "exists": found is not None,
        "partitions": found.partitions if found else 0,
        "records": found.records if found else 0,
        "exact": found.exact if found else True,
        "end_offsets": found.high if found else {},
        "lag": found.lag if found else {},
    }


@topics.command()
@click.argument("topic", type=TOPIC)
@pass_context
def describe(ctx: Context, topic: str) -> None:
    """A topic's catalogue entry, partitions with watermarks, records and group lag."""
    spec = ctx.names.spec_of(topic)
    found = _offsets(ctx, [topic]).get(topic)
    payload = {
        "topic": topic,
        "key": spec.key,
        "value_schema": spec.value_schema,
        "cleanup": spec.cleanup,
        "retention_ms": spec.retention_ms,
        "config": topic_config(spec),
        "catalogue_partitions": spec.partitions,
        "description": spec.description,
        "exists": found is not None,
        "records": found.records if found else 0,
        "exact": found.exact if found else True,
        "partitions": [
            {"partition": p, "low": found.low.get(p), "high": h}
            for p, h in sorted(found.high.items())
        ]
        if found
        else [],
        "lag": found.lag if found else {},
    }
    click.echo(dumps(payload))


_AGO = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


class SinceParam(click.ParamType):
    """A moment: ISO-8601 with a UTC offset (``2026-11-30T04:00:00Z``), or a time ago
    (``90s``, ``15m``, ``2h``, ``1d``); returned as epoch milliseconds."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        ago = _AGO.fullmatch(text)
        if ago:
            seconds = int(ago.group(1)) * _UNIT_SECONDS[ago.group(2)]
            return int((time.time() - seconds) * 1000)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail(
                f"{text!r}: give ISO-8601 with a UTC offset (2026-11-30T04:00:00Z) "
                "or a time ago (90s, 15m, 2h, 1d)",
                param,
                ctx,
            )
        return int(moment.timestamp() * 1000)


@topics.command()
@click.argument("topic", type=TOPIC)
@click.option("--from-beginning", is_flag=True, help="Start at each partition's first record.")
@click.option("--offset", type=click.IntRange(min=0), help="Start at this offset.")
@click.option("--since", "since_ms", type=SinceParam(), help="Start at this time (or time ago).")
@click.option(
    "--last",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Otherwise: newest offsets per partition to start with.",
)
@click.option("--partition", type=click.IntRange(min=0), help="Only this partition.")
@click.option("--key", help="Only records with this key.")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new records.")
@click.option("--max", "max_records", type=click.IntRange(min=1), help="Stop after N records.")
@pass_context
def tail(  # noqa: PLR0913 - one parameter per option
    ctx: Context,
    topic: str,
    from_beginning: bool,
    offset: int | None,
    since_ms: int | None,
    last: int,
    partition: int | None,
    key: str | None,
    follow: bool,
    max_records: int | None,
) -> None:
    """Print a topic's records as JSON lines (decoded through the registry; times in
    ISO-8601 UTC)."""
    from services.bus import inspect  # noqa: PLC0415 - start-up time

    starts = [name for name, given in _starts(from_beginning, offset, since_ms) if given]
    if len(starts) > 1:
        raise click.UsageError(f"give at most one of {', '.join(starts)}")
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    options = inspect.TailOptions(
        from_beginning, follow, max_records, last, partition, offset, since_ms, key
    )
    for line in inspect.tail(ctx.kafka, ctx.names, ctx.serde, topic, options, lambda: stopping):
        click.echo(inspect.dumps(line))


def _starts(from_beginning: bool, offset: int | None, since: int | None) -> list[tuple[str, bool]]:
    return [
        ("--from-beginning", from_beginning),
        ("--offset", offset is not None),
        ("--since", since is not None),
    ]


@topics.command()
@click.argument("topic", type=TOPIC)
@click.option("--key-field", help="For bare records: the field whose value is the key.")
@pass_context
def produce(ctx: Context, topic: str, key_field: str | None) -> None:
    """Produce JSON lines from stdin, all validated first: one bad line sends nothing."""
    from services.bus import jsonlines  # noqa: PLC0415 - start-up time

    batch = jsonlines.prepare(sys.stdin, topic, ctx.names, ctx.serde, key_field)
    sent = jsonlines.send(ctx.producer, topic, batch)
    click.echo(f"sent {sent} events to {topic}", err=True)


@topics.command()
@click.option(
    "--prefix",
    required=True,
    help="Delete every topic whose name starts with this (what one hfos up/demo run made).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@pass_context
def delete(ctx: Context, prefix: str, yes: bool, dry_run: bool) -> None:
    """Delete the topics under a prefix (never without one; never Kafka's own ``__``)."""
    from services.bus.cleanup import delete_topics, topics_under_prefix  # noqa: PLC0415

    _check_prefix(prefix)
    doomed = topics_under_prefix(ctx.admin, prefix)
    if not doomed:
        click.echo(f"no topic starts with {prefix!r}")
        return
    for name in doomed:
        click.echo(name)
    click.echo(f"{len(doomed)} topics start with {prefix!r}", err=True)
    if dry_run:
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("not a terminal: give --yes to delete without asking")
        click.confirm(f"delete these {len(doomed)} topics?", abort=True)
    deleted = delete_topics(ctx.admin, doomed)
    click.echo(f"deleted {deleted} topics", err=True)


def _check_prefix(prefix: str) -> None:
    from schemas.catalogue import InvalidTopicPrefixError, TopicNames  # noqa: PLC0415

    if not prefix.strip():
        raise click.BadParameter(
            "refusing to delete without a prefix (that would be every topic)",
            param_hint="'--prefix'",
        )
    try:
        TopicNames(prefix)
    except InvalidTopicPrefixError as error:
        raise click.BadParameter(str(error), param_hint="'--prefix'") from None
    if prefix.startswith("_"):
        raise click.BadParameter(
            "topics starting with '_' are Kafka's and Faust's own", param_hint="'--prefix'"
        )
