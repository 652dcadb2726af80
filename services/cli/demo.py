"""``hfos demo``: the seven scenarios of SPEC §9, end to end on the configured servers (the
local stack by default), each judged from the events on its topics; a report in HTML.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)
NUMBERS = tuple(range(1, 8))


def default_report_dir() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path.home() / ".local" / "state" / "hfos" / "demo" / stamp


@click.command()
@click.option(
    "--scenario",
    "numbers",
    multiple=True,
    type=click.IntRange(1, 7),
    help="Run only scenario N (repeatable; default: all seven, in order).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the report and the services' logs go "
    "(default: ~/.local/state/hfos/demo/<UTC time>/).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per scenario on stdout.")
@click.option(
    "--keep-topics",
    is_flag=True,
    help="Keep each scenario's topics (default: deleted once read back; the report keeps "
    "the timeline).",
)
@click.option(
    "--record",
    is_flag=True,
    help="Also write each scenario's events and facts (record.json.gz beside its logs), "
    "to run its judge again without the servers.",
)
@pass_context
def demo(
    ctx: Context,
    numbers: tuple[int, ...],
    report_dir: Path | None,
    as_json: bool,
    keep_topics: bool,
    record: bool,
) -> None:
    """Run the seven scenarios of SPEC §9 end to end and judge each from its topics.

    Each scenario gets fresh topics, the stream worker, executor and paper exchange as
    hfos up runs them, and the market simulator driven by its script; it prints a live
    line, then its timeline, PASS/FAIL with the reason and the measured latencies. The
    exit status is 1 when any scenario fails.
    """
    from services.demo.report import write_report  # noqa: PLC0415 - matplotlib
    from services.demo.run import run_all  # noqa: PLC0415 - Kafka clients

    local = not os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    chosen = sorted(set(numbers or NUMBERS))
    report_dir = report_dir or default_report_dir()
    report_dir.mkdir(parents=True, exist_ok=True)
    _stop_on_signals()
    out = sys.stderr if as_json else sys.stdout
    started = time.monotonic()
    results = run_all(
        ctx, chosen, report_dir, local=local, keep_topics=keep_topics, out=out, record=record
    )
    seconds = time.monotonic() - started
    page = write_report(results, report_dir, seconds)
    failed = [r for r in results if r.judgement.status.value == "FAIL"]
    if as_json:
        from services.demo.jsonout import as_json as result_json  # noqa: PLC0415

        for result in results:
            click.echo(json.dumps(result_json(result)))
    summary = ", ".join(f"{r.scenario.number} {r.judgement.status.value}" for r in results)
    click.echo(f"\nscenarios: {summary} — {seconds:.0f} s", file=out)
    click.echo(f"report: {page}", file=out)
    if failed:
        sys.exit(1)


def _stop_on_signals() -> None:
    """SIGTERM as Ctrl-C: the running scenario's desk is stopped in order on the way out."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handle)
