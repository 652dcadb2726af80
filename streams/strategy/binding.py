"""The stream worker as the owner of ``strategy.switched``: it dead-letters what breaks the
rules, once.

``hfos strategy switch`` writes the compacted topic directly (no command topic: a switch
only picks one of four presets and never loosens policy, so there is no compare-and-set
to decide). Each executor folds the topic itself and skips a record it cannot use; this
agent, one consumer group for the deployment, is where such a record is reported: a value
that breaks a rule of the schema (a scope whose name holds a control character, a
100 000-character account id) or a switch the book refuses (a ``symbol:`` scope, a
version below 1) goes to ``strategy.switched.dlq`` with its typed error.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from schemas.catalogue import STRATEGY_SWITCHED, TopicNames
from schemas.errors import HfosError
from schemas.serde import AvroSerde
from streams.bus import dead_letter, decoded, dlq_topic, source_topic
from streams.strategy.switches import switch_from_record

log = logging.getLogger(__name__)
CONSUMER = "strategy-switches"


class InvalidSwitchError(HfosError):
    """A ``strategy.switched`` record whose version is not a positive whole number."""

    def __init__(self, scope: str, version: object) -> None:
        super().__init__(f"strategy switch of {scope}: version {version!r} is below 1")
        self.scope = scope
        self.version = version


class SwitchOwnerBinding:
    """Registers the agent that checks every ``strategy.switched`` record."""

    def __init__(self, app: faust.App, names: TopicNames, serde: AvroSerde) -> None:
        self.names, self.serde = names, serde
        self.dlq = dlq_topic(app, STRATEGY_SWITCHED, names)
        app.agent(source_topic(app, STRATEGY_SWITCHED, names), name=CONSUMER, concurrency=1)(
            self._on_switches
        )

    async def _on_switches(self, stream: Any) -> None:
        async for item in decoded(
            stream, STRATEGY_SWITCHED, self.names, self.serde, self.dlq, CONSUMER
        ):
            try:
                switch = switch_from_record(item.value)
                if switch.version < 1:
                    raise InvalidSwitchError(str(switch.scope), switch.version)
            except (HfosError, ValueError) as refusal:
                log.warning("strategy switch refused: %s", refusal)
                await dead_letter(self.dlq, item, refusal, CONSUMER)
