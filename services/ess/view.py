"""A process's view of ``ess.state``: every scope's latest state, and whether the view has
read the topic to its end (until then, the process must refuse new risk: not ready)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from schemas.catalogue import ESS_STATE, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from services.bus.follower import Follower


class EssView:
    def __init__(
        self, client_config: Mapping[str, str], names: TopicNames, serde: AvroSerde
    ) -> None:
        self._contract = contract(ESS_STATE, names)
        self._serde = serde
        self._states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._follower = Follower(
            client_config, [self._contract.topic], self._apply, "hfos-ess-view"
        )
        self.caught_up = self._follower.caught_up

    def states(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._states)

    def close(self) -> None:
        self._follower.close()

    def _apply(self, _topic: str, raw: bytes | None) -> None:
        try:
            record = self._serde.decode(self._contract, raw)
        except SerdeError:
            return  # the ESS's own output; a record it cannot read is not a state
        with self._lock:
            held = self._states.get(record["scope"])
            if held is None or held["version"] < record["version"]:
                self._states[record["scope"]] = record
