"""The seven scenarios of SPEC §9, in order."""

from services.demo.scenarios import (
    black_swan,
    model_update,
    normal,
    regime,
    system_failure,
    underperforming,
    volatility,
)
from services.demo.script import Scenario

SCENARIOS: tuple[Scenario, ...] = (
    normal.SCENARIO,
    volatility.SCENARIO,
    regime.SCENARIO,
    underperforming.SCENARIO,
    system_failure.SCENARIO,
    black_swan.SCENARIO,
    model_update.SCENARIO,
)

__all__ = ["SCENARIOS"]
