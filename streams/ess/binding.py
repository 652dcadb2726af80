"""The emergency stop inside the stream app (SPEC §4): it owns ``ess.state``.

Commands (operator ones and system ones such as the breaker's TRIP) arrive on the single
``ess.command`` partition and are applied one at a time to the ``ess`` table; a changed
scope is published to the compacted ``ess.state`` (with who and why) and audited on
``ess.transition``; a refused command (stale version, missing who/why, a DISABLE in
production) goes to ``ess.command.dlq`` with its typed reason; a command that changes
nothing is answered on ``ess.unchanged`` with the state in force and why
(:mod:`streams.ess.answers`). Nothing un-trips TRIPPED but a RESET.

A cooldown's end is a command too. Faust lets a table be written only while its agent
handles an event (the write goes to the changelog partition of that event): a timer that
wrote the table crashed the worker at the end of every cooldown, and again on every
restart. So the 1 s timer only reads the table and sends END_COOLDOWN to ``ess.command``,
and the agent arms the scope if it is still in that cooldown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import faust

from schemas.catalogue import ESS_COMMAND, ESS_STATE, ESS_TRANSITION, ESS_UNCHANGED, TopicNames
from schemas.enums import EssCommandKind, EssState, EssTrigger
from schemas.keys import ESS_TABLE
from schemas.serde import AvroSerde
from streams import metrics, timers
from streams.bus import dead_letter, decoded, dlq_topic, sink_topic
from streams.ess.codec import (
    command_from_record,
    end_cooldown_record,
    state_from_json,
    state_record,
    state_to_json,
    transition_record,
    unchanged_record,
)
from streams.ess.commands import apply_command, remember_refused
from streams.ess.exceptions import EssError
from streams.ess.scope import Scope
from streams.ess.state import ScopeState, Transition, attributed, initial
from streams.ess.triggers import apply_trigger, tick

log = logging.getLogger(__name__)
PRODUCER = "hfos-ess"
DEFAULT_COOLDOWN_SECONDS = 900
_KIND_TARGETS = {EssCommandKind.TRIP: EssState.TRIPPED, EssCommandKind.REDUCE: EssState.REDUCING}
"""A system command's kind names the state it asks for: the supervisor's escalation is
a REDUCE or a TRIP as the active policy says (SPEC §7)."""


class EssBinding:
    def __init__(
        self,
        app: faust.App,
        names: TopicNames,
        serde: AvroSerde,
        *,
        cooldown_seconds: Callable[[], int] = lambda: DEFAULT_COOLDOWN_SECONDS,
        production: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.names, self.serde, self.clock = names, serde, clock
        self.cooldown_seconds, self.production = cooldown_seconds, production
        self.table = app.Table(ESS_TABLE, default=None, partitions=1)
        self.states = sink_topic(app, ESS_STATE, names, serde)
        self.transitions = sink_topic(app, ESS_TRANSITION, names, serde)
        self.unchanged = sink_topic(app, ESS_UNCHANGED, names, serde)
        self.dlq = dlq_topic(app, ESS_COMMAND, names)
        self.commands = sink_topic(app, ESS_COMMAND, names, serde)
        self._asked: dict[str, int] = {}
        """Scope -> the version whose cooldown's end this process already asked for."""
        source = app.topic(
            names.name(ESS_COMMAND),
            key_serializer="raw",
            value_serializer="raw",
            partitions=1,
            internal=False,
        )
        app.agent(source, name="ess-commands", concurrency=1)(self._on_commands)
        timers.register(app, 1.0, "ess-cooldowns", self._tick)

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _current(self, scope: str) -> ScopeState:
        held = self.table.get(scope)
        if held is None:
            return initial(Scope.parse(scope))
        return state_from_json(held)

    async def _on_commands(self, stream: Any) -> None:
        async for item in decoded(
            stream, ESS_COMMAND, self.names, self.serde, self.dlq, "ess-commands"
        ):
            try:
                command = command_from_record(item.value)
                current = self._current(str(command.scope))
                transition = self._apply(current, command)
            except EssError as refusal:
                log.warning("ess command refused: %s", refusal)
                await dead_letter(self.dlq, item, refusal, "ess-commands")
                continue
            await self._store(transition)
            if not transition.changed:  # answered too: nobody waits out a timeout
                event_id = str(item.value["envelope"]["event_id"])
                answer = unchanged_record(command, event_id, transition, PRODUCER, self._now())
                await self.unchanged.send(key=str(command.scope).encode(), value=answer)

    def _apply(self, current: ScopeState, command: Any) -> Transition:
        now = self._now()
        if command.trigger is not EssTrigger.MANUAL and command.cause_event_id:
            return apply_trigger(
                current,
                command.trigger,
                command.cause_event_id,
                now,
                target=_KIND_TARGETS.get(command.kind),
                by=command.by,
                reason=command.reason,
            )
        try:
            return apply_command(
                current, command, now, self.cooldown_seconds(), production=self.production
            )
        except EssError:
            self.table[str(current.scope)] = state_to_json(remember_refused(current, command))
            raise

    async def _store(self, transition: Transition) -> None:
        after = attributed(transition)
        self.table[str(after.scope)] = state_to_json(after)
        if not transition.changed:
            return
        now = self._now()
        for state in EssState:
            metrics.ESS_STATE.labels(str(after.scope), state.value).set(state is after.state)
        await self.states.send(
            key=str(after.scope).encode(), value=state_record(after, PRODUCER, now)
        )
        await self.transitions.send(
            key=str(after.scope).encode(), value=transition_record(transition, PRODUCER, now)
        )

    async def _tick(self) -> None:
        """Ask for END_COOLDOWN once per scope and cooldown version in this process; a
        restarted worker asks again, and the repeated command id makes that a no-op."""
        now = self._now()
        for scope, held in list(self.table.items()):
            state = state_from_json(held)
            if not tick(state, now).changed or self._asked.get(scope) == state.version:
                continue
            self._asked[scope] = state.version
            log.info("ess: %s cooldown elapsed; asking to arm it", scope)
            await self.commands.send(
                key=scope.encode(), value=end_cooldown_record(state, PRODUCER, now)
            )
