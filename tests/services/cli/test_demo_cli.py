"""``hfos demo`` end to end, once: the seven scenarios of SPEC §9 on the real servers, each
judged from its topics, and the report with its plots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.testing import Servers

pytestmark = [pytest.mark.stack, pytest.mark.localstack, pytest.mark.demo]

DEMO_SECONDS = 900
"""All seven take 4-6 minutes on the project's 2-core machine (README); 15 minutes is a
hung scenario, not a slow one."""
PLOTTED = (4, 5, 6, 7)


@pytest.mark.timeout(DEMO_SECONDS + 60)
def test_demo_when_run_end_to_end_then_every_scenario_passes_and_the_report_is_written(
    stack: Servers, tmp_path: Path
) -> None:
    env = dict(os.environ)
    if stack.local is None:  # servers from the environment: scenario 5 may not kill them
        env.update(stack.environ())
    report = tmp_path / "report"

    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "demo", "--json", "--report", str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_SECONDS,
        check=False,
    )

    results = {r["scenario"]: r for r in map(json.loads, done.stdout.splitlines())}
    statuses = {number: r["status"] for number, r in results.items()}
    expected = dict.fromkeys(range(1, 8), "PASS")
    if stack.local is None:
        expected[5] = "SKIP"
    failures = {n: r["reason"] for n, r in results.items() if r["status"] == "FAIL"}
    assert statuses == expected, (failures, done.stderr[-4000:])
    assert done.returncode == 0
    page = (report / "report.html").read_text()
    for number in PLOTTED:
        if expected[number] == "PASS":
            assert list(report.glob(f"{number}-*-1.png")), f"no plot for scenario {number}"
    assert page.count("data:image/png;base64,") >= len(PLOTTED) - (stack.local is None)
