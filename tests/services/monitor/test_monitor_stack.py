"""The position monitor's flash-crash detector on the real stack (SPEC §6, §9 scenario 6):
a 20 % gap trips the emergency stop once; the same tick again, or a restarted monitor
reading it again, does nothing more."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.catalogue import ESS_COMMAND, ESS_TRANSITION, MARKET_PRICE
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.ess.view import EssView
from services.testing import Servers
from services.testing.workers import running_worker
from tests.services.models.harness import PromotionDesk, running_monitor

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]


@pytest.fixture
def desk(
    stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path
) -> Iterator[PromotionDesk]:
    made = PromotionDesk(stack, serde, producer, tmp_path / "worker.log")
    yield made
    made.close()


def _tick(symbol: str, price: float) -> dict[str, Any]:
    return {
        "envelope": envelope("test-feed", int(time.time() * 1000), event_id=str(uuid.uuid4())),
        "symbol": symbol,
        "price": price,
    }


def _global_state(desk: PromotionDesk, predicate: Any, seconds: float = 60) -> dict[str, Any]:
    view = EssView({"bootstrap.servers": desk.kafka}, desk.names, desk.serde)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            held = view.states().get("global")
            if held is not None and predicate(held):
                return held
            time.sleep(0.05)
    finally:
        view.close()
    raise AssertionError(f"global never matched; worker log:\n{desk.log.read_text()[-2000:]}")


def _flash_commands(desk: PromotionDesk, settle: float = 0.0) -> list[dict[str, Any]]:
    return [c for c in desk.records(ESS_COMMAND, settle=settle) if c["trigger"] == "FLASH_CRASH"]


def test_monitor_when_price_gaps_20_percent_then_global_tripped_once_even_when_replayed(
    desk: PromotionDesk,
) -> None:
    with running_worker(desk.env, desk.app_id, desk.log):
        with running_monitor(desk) as (first, _):
            for price in (99.9, 100.0, 99.95):
                desk.send(MARKET_PRICE, "BTC", _tick("BTC", price))
            time.sleep(0.3)
            crash = _tick("BTC", 80.0)
            desk.send(MARKET_PRICE, "BTC", crash)
            tripped = _global_state(desk, lambda s: s["state"] == "TRIPPED")
            desk.send(MARKET_PRICE, "BTC", crash)  # the same tick, redelivered
            time.sleep(1.0)
            asked_once = _flash_commands(desk)
        assert first.live
        with running_monitor(desk):  # a restarted monitor reads the last minutes again
            time.sleep(3.0)
        commands = _flash_commands(desk, settle=2.0)
        transitions = desk.records(ESS_TRANSITION, settle=1.0)

    assert tripped["trigger"] == "FLASH_CRASH"
    assert len(asked_once) == 1  # the redelivered tick asked nothing more
    flash = [t for t in transitions if t["trigger"] == "FLASH_CRASH"]
    assert len(flash) == 1
    assert (flash[0]["scope"], flash[0]["state"]) == ("global", "TRIPPED")
    assert len(commands) >= 2  # the restarted monitor asked again…
    assert len({c["command_id"] for c in commands}) == 1  # …under the episode's one id
    assert commands[0]["envelope"]["causation_id"] == crash["envelope"]["event_id"]
    assert "fell 20.0%" in commands[0]["reason"]
