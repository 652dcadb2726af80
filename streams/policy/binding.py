"""The policy owner inside the stream app: table, command agent, cache write-through.

- ``policy.command`` (one partition) is applied one command at a time against the table
  (:func:`streams.policy.owner.decide`); the result goes to ``policy.updated`` or
  ``policy.activated``, a command that changes nothing is answered on
  ``policy.unchanged``, and a refusal goes to ``policy.command.dlq`` with the typed error.
- ``policy.updated`` and ``policy.activated`` are also read back into the table (newest
  version wins), so the table materialises the compacted topics, the source of truth.
- Every table change is written through to Redis; a 100 ms timer resynchronises Redis
  after an outage, and seeds the three default profiles (and activates ``normal``) once
  the table is recovered and still lacks them — never over an existing version.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import faust

from schemas.catalogue import (
    POLICY_ACTIVATED,
    POLICY_COMMAND,
    POLICY_UNCHANGED,
    POLICY_UPDATED,
    TopicNames,
)
from schemas.enums import PolicyCommandKind, ProfileName
from schemas.envelope import envelope
from schemas.ids import derived_id
from schemas.keys import POLICY_TABLE
from schemas.serde import AvroSerde
from streams import metrics, timers
from streams.bus import dead_letter, decoded, dlq_topic, sink_topic, source_topic
from streams.policy.cache import PolicyCache
from streams.policy.exceptions import PolicyError
from streams.policy.owner import Decision, PolicyState, decide
from streams.policy.records import (
    Activation,
    Unchanged,
    activation_from_record,
    activation_record,
    active_key,
    profile_key,
    unchanged_record,
    version_from_record,
    version_record,
)

log = logging.getLogger(__name__)
PRODUCER = "hfos-policy"
SEED_AUTHOR = "hfos-seed"


class PolicyBinding:
    """Registers the policy agents, table and timers on ``app``."""

    def __init__(
        self,
        app: faust.App,
        names: TopicNames,
        serde: AvroSerde,
        cache: PolicyCache | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.names, self.serde, self.cache, self.clock = app, names, serde, cache, clock
        self.table = app.Table(POLICY_TABLE, default=None, partitions=1)
        self.updated_out = sink_topic(app, POLICY_UPDATED, names, serde)
        self.activated_out = sink_topic(app, POLICY_ACTIVATED, names, serde)
        self.unchanged_out = sink_topic(app, POLICY_UNCHANGED, names, serde)
        self.command_dlq = dlq_topic(app, POLICY_COMMAND, names)
        self._seeded_profiles = False
        self._seeded_activation = False
        app.agent(source_topic(app, POLICY_COMMAND, names), name="policy-commands", concurrency=1)(
            self._on_commands
        )
        app.agent(source_topic(app, POLICY_UPDATED, names), name="policy-updated", concurrency=1)(
            self._on_updated
        )
        app.agent(
            source_topic(app, POLICY_ACTIVATED, names), name="policy-activated", concurrency=1
        )(self._on_activated)
        timers.register(app, 0.1, "policy-cache-resync", self._tick)

    def state(self) -> PolicyState:
        versions, activations = {}, {}
        for key, record in self.table.items():
            if key.startswith("profile:"):
                versions[record["profile"]] = version_from_record(record)
            elif key.startswith("active:"):
                activations[record["scope"]] = activation_from_record(record)
        return PolicyState(versions, activations)

    def _now(self) -> int:
        return int(self.clock() * 1000)

    async def _on_commands(self, stream: Any) -> None:
        items = decoded(
            stream, POLICY_COMMAND, self.names, self.serde, self.command_dlq, "policy-commands"
        )
        async for item in items:
            command_id = str(item.value["envelope"]["event_id"])
            try:
                result = decide(item.value, self.state(), self._now())
            except PolicyError as refusal:
                log.warning("policy command %s refused: %s", command_id, refusal)
                metrics.POLICY_REFUSED_WRITES.labels(type(refusal).__name__).inc()
                await dead_letter(self.command_dlq, item, refusal, "policy-commands")
                continue
            await self._publish(result, command_id)

    async def _publish(self, result: Decision, command_id: str) -> None:
        if isinstance(result, Unchanged):  # answered, so the writer need not wait it out
            event_id = derived_id("policy.unchanged", command_id)
            record = unchanged_record(result, PRODUCER, command_id, event_id, self._now())
            await self.unchanged_out.send(key=result.in_force.profile.value.encode(), value=record)
        elif isinstance(result, Activation):
            record = activation_record(
                result, PRODUCER, command_id, derived_id("policy.activated", command_id)
            )
            await self._store(active_key(result.scope), record)
            await self.activated_out.send(key=result.scope.encode(), value=record)
        else:
            record = version_record(
                result, PRODUCER, command_id, derived_id("policy.updated", command_id)
            )
            await self._store(profile_key(result.profile.value), record)
            await self.updated_out.send(key=result.profile.value.encode(), value=record)

    async def _on_updated(self, stream: Any) -> None:
        dead = dlq_topic(self.app, POLICY_UPDATED, self.names)
        async for item in decoded(
            stream, POLICY_UPDATED, self.names, self.serde, dead, "policy-updated"
        ):
            await self._store(profile_key(str(item.value["profile"])), item.value)

    async def _on_activated(self, stream: Any) -> None:
        dead = dlq_topic(self.app, POLICY_ACTIVATED, self.names)
        async for item in decoded(
            stream, POLICY_ACTIVATED, self.names, self.serde, dead, "policy-activated"
        ):
            await self._store(active_key(str(item.value["scope"])), item.value)

    async def _store(self, key: str, record: dict[str, Any]) -> None:
        """Keep the newest version in the table, and write it through to Redis."""
        held = self.table.get(key)
        if held is not None and int(held["version"]) >= int(record["version"]):
            return
        self.table[key] = record
        if self.cache is not None:
            await self.cache.write(key, record)

    async def _tick(self) -> None:
        # Seeding before the table is recovered would see an empty table on every restart.
        recovery = getattr(self.app.tables, "recovery", None)
        if recovery is None or not recovery.completed.is_set():
            return
        if self.cache is not None:
            await self.cache.resync(dict(self.table.items()))
        if self._owns_commands():
            await self._seed()

    def _owns_commands(self) -> bool:
        """Whether this worker holds the policy.command partition (and so the table):
        a worker without it sees an empty table and must not take that for a first start."""
        assigned = self.app.consumer.assignment()
        return any(tp.topic == self.names.name(POLICY_COMMAND) for tp in assigned)

    async def _seed(self) -> None:
        """First start: version 1 of each default profile, then ``normal`` active — each
        sent at most once per process, and only while the table lacks it."""
        state = self.state()
        commands = []
        if not self._seeded_profiles:
            self._seeded_profiles = True
            commands = [
                self._command(PolicyCommandKind.SET, name)
                for name in ProfileName
                if name.value not in state.versions
            ]
        elif not self._seeded_activation and len(state.versions) == len(ProfileName):
            self._seeded_activation = True
            if "global" not in state.activations:
                commands = [self._command(PolicyCommandKind.ACTIVATE, ProfileName.NORMAL)]
        out = sink_topic(self.app, POLICY_COMMAND, self.names, self.serde)
        for command in commands:
            log.info("seeding policy: %s %s", command["kind"], command["profile"])
            await out.send(key=command["profile"].encode(), value=command)

    def _command(self, kind: PolicyCommandKind, profile: ProfileName) -> dict[str, Any]:
        return {
            "envelope": envelope(SEED_AUTHOR, self._now(), event_id=str(uuid.uuid4())),
            "kind": kind.value,
            "profile": profile.value,
            "scope": "global",
            "changes": {},
            "expected_version": 0,
            "by": SEED_AUTHOR,
            "reason": "first start: SPEC section 2 defaults",
        }
