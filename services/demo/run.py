"""All the chosen scenarios, one after the other, each printed as it ends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from services.cli.context import Context
from services.demo.console import Live, show
from services.demo.runner import Environment, Result, run_scenario
from services.demo.scenarios import SCENARIOS
from services.localstack.stack import LocalStack


def run_all(  # noqa: PLR0913 - the options of hfos demo, each named
    ctx: Context,
    numbers: Sequence[int],
    report_dir: Path,
    *,
    local: bool,
    keep_topics: bool,
    out: TextIO,
    record: bool = False,
    commands: Mapping[str, Sequence[str]] | None = None,
) -> list[Result]:
    if local:
        LocalStack().up()
    env = Environment(
        ctx.settings,
        ctx.serde,
        local,
        report_dir,
        keep_topics=keep_topics,
        record=record,
        commands=dict(commands or {}),
    )
    results = []
    chosen = [s for s in SCENARIOS if s.number in numbers]
    for scenario in chosen:
        live = Live(out, scenario, len(SCENARIOS))
        try:
            result = run_scenario(env, scenario, live.step, live.follow)
        finally:
            live.done()
        show(result, out)
        results.append(result)
    return results
