"""The demo's report: one self-contained HTML page (plots embedded as PNG data, and
written beside it) with each scenario's verdict, checks, latencies and whole timeline."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from services.demo.console import offset
from services.demo.plots import draw
from services.demo.runner import Result

PAGE = "report.html"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; }
h2 { border-top: 1px solid #ccc; padding-top: 1em; }
.PASS { color: #0a7d27; } .FAIL { color: #c4001a; } .SKIP { color: #8a6d00; }
table { border-collapse: collapse; font-size: 12px; }
td, th { padding: 2px 8px; text-align: left; vertical-align: top; }
tr:nth-child(even) { background: #f4f4f4; }
code, .mono { font-family: ui-monospace, monospace; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def write_report(results: Sequence[Result], directory: Path, seconds: float) -> Path:
    """Write the page (and each plot as ``<n>-<slug>-<i>.png``) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    sections = [_section(result, directory) for result in results]
    summary = "".join(
        f"<tr><td>{r.scenario.number}</td><td>{_e(r.scenario.title)}</td>"
        f"<td class='{r.judgement.status.value}'>{r.judgement.status.value}</td>"
        f"<td>{r.seconds:.1f} s</td><td>{_e(r.judgement.reason)}</td></tr>"
        for r in results
    )
    made = datetime.now(UTC).isoformat(timespec="seconds")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>hfos demo</title>"
        f"<style>{_STYLE}</style></head><body><h1>hfos demo</h1>"
        f"<p>{made}, {len(results)} scenarios in {seconds:.0f} s. Every verdict is computed "
        "from the events read back from each scenario's topics after its desk stopped.</p>"
        f"<table><tr><th>#</th><th>scenario</th><th>result</th><th>time</th><th>reason</th></tr>"
        f"{summary}</table>{''.join(sections)}</body></html>"
    )
    path = directory / PAGE
    path.write_text(page)
    return path


def _section(result: Result, directory: Path) -> str:
    scenario, j = result.scenario, result.judgement
    zero = result.facts.started or (j.timeline[0].at if j.timeline else 0)
    images = []
    for index, data in enumerate(j.plots, 1):
        png = draw(data, zero, directory / f"{scenario.number}-{scenario.slug}-{index}.png")
        encoded = base64.b64encode(png.read_bytes()).decode()
        images.append(f"<p><img alt='{_e(data.title)}' src='data:image/png;base64,{encoded}'></p>")
    checks = "".join(f"<li>{_e(c)}</li>" for c in j.checks)
    failures = "".join(f"<li class='FAIL'>{_e(f)}</li>" for f in j.failures)
    latencies = "".join(f"<li>{_e(latency.text())}</li>" for latency in j.latencies)
    rows = "".join(
        f"<tr><td class='mono'>{offset(line.at, zero)}</td><td class='mono'>{_e(line.topic)}</td>"
        f"<td>{_e(line.text)}</td></tr>"
        for line in j.timeline
    )
    status = j.status.value
    return (
        f"<h2>{scenario.number}. {_e(scenario.title)} — <span class='{status}'>{status}</span></h2>"
        f"<p><em>{_e(scenario.summary)}</em></p><p>{_e(j.reason)}</p>"
        f"<p>topics <code>{_e(result.prefix)}*</code>, services' logs <code>"
        f"{_e(str(result.log_dir))}</code>, {result.events} events read back, "
        f"{result.seconds:.1f} s</p>"
        f"{'<h3>Failures</h3><ul>' + failures + '</ul>' if failures else ''}"
        f"{'<h3>Latencies (measured)</h3><ul>' + latencies + '</ul>' if latencies else ''}"
        f"{'<h3>Checks</h3><ul>' + checks + '</ul>' if checks else ''}"
        f"{''.join(images)}"
        f"{'<h3>Timeline</h3><table>' + rows + '</table>' if rows else ''}"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)
