"""A process's view of ``strategy.switched``, and the one way to publish a switch."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from schemas.catalogue import STRATEGY_SWITCHED, TopicNames
from schemas.contracts import contract
from schemas.enums import StrategyName
from schemas.envelope import envelope
from schemas.errors import HfosError
from schemas.serde import AvroSerde, SerdeError
from services.bus.follower import Follower
from services.bus.producer import EventProducer
from streams.strategy.exceptions import StrategyError
from streams.strategy.switches import StrategyBook, Switch, switch_from_record, switch_scope

log = logging.getLogger(__name__)


class StrategyNotReadyError(HfosError):
    def __init__(self, topic: str, seconds: float) -> None:
        super().__init__(f"{topic} not read to its end within {seconds:.0f} s")


class StrategyView:
    """Follows the compacted ``strategy.switched`` topic from its beginning."""

    def __init__(
        self, client_config: Mapping[str, str], names: TopicNames, serde: AvroSerde
    ) -> None:
        self._contract = contract(STRATEGY_SWITCHED, names)
        self._serde = serde
        self._book = StrategyBook()
        self._lock = threading.Lock()
        self._follower = Follower(
            client_config, [self._contract.topic], self._apply, "hfos-strategy-view"
        )

    def wait_caught_up(self, seconds: float) -> None:
        if not self._follower.caught_up.wait(seconds):
            raise StrategyNotReadyError(self._contract.topic, seconds)

    def switches(self) -> dict[str, Switch]:
        with self._lock:
            return {str(scope): switch for scope, switch in self._book.current().items()}

    def next_version(self, scope: str) -> int:
        with self._lock:
            return self._book.next_version(switch_scope(scope))

    def close(self) -> None:
        self._follower.close()

    def _apply(self, _topic: str, raw: bytes | None) -> None:
        try:
            switch = switch_from_record(self._serde.decode(self._contract, raw))
        except (SerdeError, StrategyError, KeyError, ValueError) as problem:
            log.warning("strategy view: skipping an unreadable record: %s", problem)
            return
        with self._lock:
            self._book.apply(switch)


def publish_switch(  # noqa: PLR0913 - every field of the event is the caller's to give
    producer: EventProducer,
    names: TopicNames,
    scope: str,
    strategy: StrategyName,
    version: int,
    previous: StrategyName | None,
    by: str,
    reason: str,
) -> dict[str, object]:
    """Publish one ``strategy.switched`` and wait for the broker's acknowledgement."""
    parsed = switch_scope(scope)
    if not by.strip() or not reason.strip():
        raise StrategyError("a strategy switch needs --by and --reason (who, and why)")
    record: dict[str, object] = {
        "envelope": envelope("hfos-cli", int(time.time() * 1000)),
        "scope": str(parsed),
        "strategy": strategy.value,
        "version": version,
        "previous": None if previous is None else previous.value,
        "by": by,
        "reason": reason,
    }
    producer.send(contract(STRATEGY_SWITCHED, names), str(parsed), record)
    if producer.flush(30):
        raise StrategyError("the strategy switch was not acknowledged by Kafka within 30 s")
    return record
