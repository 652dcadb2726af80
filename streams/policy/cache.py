"""The Redis read cache of the policy table, written through by the stream app.

Redis is only a cache: Kafka holds the truth and the table materialises it. Every write is
compare-and-set on the version inside Redis (a Lua script), so a slow or replayed write
never replaces a newer version. A failed write is not retried inline (the stream must not
wait on a cache); :meth:`PolicyCache.resync` runs every 100 ms and rewrites whatever Redis
lacks or holds older — which covers a Redis that restarted empty or from an old snapshot,
within about one tick of it answering again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from schemas.keys import policy_cache_key
from streams import metrics

log = logging.getLogger(__name__)

# Set KEYS[1] to ARGV[1] unless Redis holds a version >= ARGV[2]: newest always wins.
_SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and tonumber(decoded['version']) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# A 50 ms timeout keeps a dead Redis from stalling the agent: the write is skipped and
# the next resync (100 ms later) makes up for it.
_TIMEOUT_SECONDS = 0.05
CACHE_READER = "worker-cache"
"""The ``reader`` label of the write-through's Redis availability."""


class PolicyCache:
    def __init__(self, url: str, topic_prefix: str) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS
        )
        self._prefix = topic_prefix
        self._script = self._client.register_script(_SET_IF_NEWER)
        self.available = False

    async def write(self, key: str, record: Mapping[str, Any]) -> bool:
        """Write one table entry if it is newer than Redis's; False if Redis failed."""
        try:
            await self._script(
                keys=[policy_cache_key(self._prefix, key)],
                args=[json.dumps(record), int(record["version"])],
            )
        except (RedisError, OSError) as error:
            self._mark(available=False, error=error)
            return False
        self._mark(available=True)
        return True

    async def resync(self, table: Mapping[str, Mapping[str, Any]]) -> int:
        """Rewrite every entry Redis lacks or holds older; returns how many it rewrote."""
        if not table:
            return 0
        keys = sorted(table)
        try:
            cached = await self._client.mget([policy_cache_key(self._prefix, k) for k in keys])
        except (RedisError, OSError) as error:
            self._mark(available=False, error=error)
            return 0
        self._mark(available=True)
        stale = [
            k
            for k, held in zip(keys, cached, strict=True)
            if _version(held) < int(table[k]["version"])
        ]
        for key in stale:
            await self.write(key, table[key])
        return len(stale)

    async def close(self) -> None:
        await self._client.aclose()

    def _mark(self, *, available: bool, error: Exception | None = None) -> None:
        if self.available and not available:
            log.warning("policy cache: Redis unavailable (%s); readers use their fallback", error)
        elif available and not self.available:
            log.info("policy cache: Redis available; resynchronising")
        self.available = available
        metrics.POLICY_REDIS_AVAILABLE.labels(CACHE_READER).set(1 if available else 0)


def _version(held: bytes | str | None) -> int:
    if held is None:
        return 0
    try:
        return int(json.loads(held)["version"])
    except (ValueError, KeyError, TypeError):
        return 0  # unreadable: rewrite it
