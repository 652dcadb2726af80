"""``PolicyStore``: how services outside the stream app read the active risk profile.

Redis first (one MGET round trip, well under a millisecond); the process's own view of the
compacted topics beside it. Every read takes the newer of the two, so a Redis that went
down, came back empty, or holds older values never makes a reader go back a version — and
a reader keeps working from its view while Redis is down. With neither, there is no policy
and the caller must refuse new risk (:class:`PolicyUnavailableError`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import RedisError

from schemas.enums import ProfileName
from schemas.keys import policy_cache_key
from services.policy.exceptions import PolicyUnavailableError
from services.policy.view import PolicyView
from streams import metrics
from streams.policy.exceptions import PolicyError
from streams.policy.owner import PolicyState
from streams.policy.records import (
    Activation,
    activation_from_record,
    active_key,
    profile_key,
    version_from_record,
)
from streams.policy.version import PolicyVersion


@dataclass(frozen=True)
class PolicyRead:
    """What a reader returned: the version, how it is active, where it came from, its age."""

    version: PolicyVersion
    activation: Activation
    source: str
    age_seconds: float


class PolicyStore:
    def __init__(
        self,
        client: redis.Redis,
        view: PolicyView,
        topic_prefix: str,
        *,
        reader: str = "hfos",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._view = view
        self._prefix = topic_prefix
        self._reader = reader
        self._clock = clock
        self._keys = [active_key("global"), *(profile_key(p.value) for p in ProfileName)]
        self._last: PolicyRead | None = None

    def active(self) -> PolicyRead:
        """The latest version of the globally active profile; never older than before."""
        cached, source = self._from_redis(), "redis"
        local = self._view.state()
        best = _newer(cached, local)
        if best is local:
            source = "view"
        read = self._pick(best, source)
        metrics.POLICY_VERSION.labels(self._reader, read.version.profile.value).set(
            read.version.version
        )
        metrics.POLICY_AGE_SECONDS.labels(self._reader).set(read.age_seconds)
        return read

    def _pick(self, state: PolicyState | None, source: str) -> PolicyRead:
        activation = state.activations.get("global") if state else None
        version = state.active() if state else None
        if activation is None or version is None:
            if self._last is not None:
                return self._last
            raise PolicyUnavailableError("no active profile in Redis or in the topics")
        read = PolicyRead(
            version, activation, source, max(self._clock() - version.created_at / 1000, 0.0)
        )
        if self._last is not None and _rank(self._last) > _rank(read):
            return self._last  # never go back a version
        self._last = read
        return read

    def _from_redis(self) -> PolicyState | None:
        try:
            raw = self._redis.mget([policy_cache_key(self._prefix, k) for k in self._keys])
        except (RedisError, OSError):
            metrics.POLICY_REDIS_AVAILABLE.labels(self._reader).set(0)
            return None
        metrics.POLICY_REDIS_AVAILABLE.labels(self._reader).set(1)
        try:
            return _state_of(raw)
        except (PolicyError, KeyError, ValueError, TypeError):
            return None  # an unreadable cache entry is as good as none: the view decides


def _state_of(raw: list[Any]) -> PolicyState:
    activations, versions = {}, {}
    if raw[0] is not None:
        activation = activation_from_record(json.loads(raw[0]))
        activations[activation.scope] = activation
    for held in raw[1:]:
        if held is not None:
            version = version_from_record(json.loads(held))
            versions[version.profile.value] = version
    return PolicyState(versions, activations)


def _rank(read: PolicyRead) -> tuple[int, int]:
    return (read.activation.version, read.version.version)


def _newer(cached: PolicyState | None, local: PolicyState) -> PolicyState:
    """Of Redis's and the view's state, the one whose active policy is newer."""
    if cached is None:
        return local
    return cached if _state_rank(cached) >= _state_rank(local) else local


def _state_rank(state: PolicyState) -> tuple[int, int]:
    activation = state.activations.get("global")
    version = state.active()
    return (activation.version if activation else 0, version.version if version else 0)
