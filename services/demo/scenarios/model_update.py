"""Scenario 7, model update (SPEC §9): a model is promoted while signals flow; every
consumer acknowledges; no decision mixes versions; a second promotion with a wrong digest
is refused and rolled back.

It drives ``hfos model build`` / ``hfos model promote`` and reads ``model.promoted``,
``model.loaded`` and ``model.load_failed``: the model-promotion work of issue 14. In a
build without it (no ``hfos monitor run``, no ``hfos model``) the runner skips this
scenario and says so.
"""

from __future__ import annotations

from services.demo.events import EventLog
from services.demo.model import Facts, Judgement
from services.demo.script import Desk, Driver, Scenario, ScenarioAborted

ACCOUNTS = ("acc-1", "acc-2")
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def drive(d: Driver) -> None:
    del d
    raise ScenarioAborted("model promotion (issue 14) is not in this build")


def judge(log: EventLog, facts: Facts) -> Judgement:
    del log, facts
    return Judgement(skipped="model promotion (issue 14) is not in this build")


SCENARIO = Scenario(
    number=7,
    slug="model-update",
    title="Model update",
    summary="a promotion while signals flow: every consumer acknowledges, no decision mixes "
    "versions; a promotion with a wrong digest is refused and rolled back",
    desk=Desk(accounts=ACCOUNTS, symbols=SYMBOLS, tick_seconds=0.05),
    drive=drive,
    judge=judge,
    requires=("monitor",),
)
