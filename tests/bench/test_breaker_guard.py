"""The breaker's regression guard (issue 18): on short backlogs on the real stack, a plain
consume+decode loop's CPU per event over the breaker agent's must not fall below half of the
figure recorded in ``bench/recorded.json`` (bench.breaker.quick_ratio says why CPU). A ratio
measured within one run, because the machines are shared: the breaker once became three
times slower and nobody saw it. Seen failing on the code before the batch delivery: 0.010
against 0.032."""

from __future__ import annotations

import json

import pytest

from bench.breaker import RECORDED, quick_ratio
from services.testing import Servers

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


def test_breaker_when_short_runs_measured_then_ratio_at_least_half_the_recorded(
    stack: Servers,
) -> None:
    recorded = json.loads(RECORDED.read_text())["breaker"]
    found = quick_ratio(stack)
    assert found >= recorded["guard_ratio"] / 2, (
        f"plain/agent CPU per event {found:.3f} is below half of {recorded['guard_ratio']} "
        f"recorded on {recorded['date']} (bench/recorded.json): the breaker got slower"
    )
