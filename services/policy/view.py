"""A process's own materialised view of ``policy.updated`` and ``policy.activated``.

A background thread reads both compacted topics from the beginning and keeps the newest
version of every profile and activation. It is the reader's fallback when Redis is down,
and the guard that keeps a reader from ever going back a version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from schemas.catalogue import POLICY_ACTIVATED, POLICY_UPDATED, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde, SerdeError
from services.bus.follower import Follower
from streams.policy.exceptions import PolicyError
from streams.policy.owner import PolicyState
from streams.policy.records import Activation, activation_from_record, version_from_record
from streams.policy.version import PolicyVersion

log = logging.getLogger(__name__)


class PolicyView:
    """Follows the policy topics in a daemon thread; thread-safe snapshots."""

    def __init__(
        self, client_config: Mapping[str, str], names: TopicNames, serde: AvroSerde
    ) -> None:
        self._updated = contract(POLICY_UPDATED, names)
        self._activated = contract(POLICY_ACTIVATED, names)
        self._serde = serde
        self._versions: dict[str, PolicyVersion] = {}
        self._activations: dict[str, Activation] = {}
        self._lock = threading.Lock()
        self._follower = Follower(
            client_config,
            [self._updated.topic, self._activated.topic],
            self._handle,
            "hfos-policy-view",
        )
        self.caught_up = self._follower.caught_up

    def state(self) -> PolicyState:
        with self._lock:
            return PolicyState(dict(self._versions), dict(self._activations))

    def wait_caught_up(self, seconds: float) -> bool:
        return self.caught_up.wait(seconds)

    def close(self) -> None:
        self._follower.close()

    def _handle(self, topic: str, raw: bytes | None) -> None:
        try:
            self._apply(topic, raw)
        except (SerdeError, PolicyError, KeyError, ValueError) as problem:
            log.warning("policy view: skipping an unreadable record of %s: %s", topic, problem)

    def _apply(self, topic: str, raw: bytes | None) -> None:
        if topic == self._updated.topic:
            version = version_from_record(self._serde.decode(self._updated, raw))
            with self._lock:
                held = self._versions.get(version.profile.value)
                if held is None or held.version < version.version:
                    self._versions[version.profile.value] = version
        else:
            activation = activation_from_record(self._serde.decode(self._activated, raw))
            with self._lock:
                held_activation = self._activations.get(activation.scope)
                if held_activation is None or held_activation.version < activation.version:
                    self._activations[activation.scope] = activation
