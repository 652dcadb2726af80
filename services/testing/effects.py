"""A Redis-backed effect ledger for redelivery tests: it applies each effect id once.

It counts every *attempt* and every *applied* effect, so a test can show that an input was
delivered twice (attempts > inputs) and still had one effect (applied == inputs).
"""

from __future__ import annotations

import redis

# SET NX and the counters in one atomic script: a crash can never leave an effect marked
# applied without being counted, or counted twice.
_APPLY_ONCE = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 3600)
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', 3600) then
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], 3600)
  return 1
end
return 0
"""


class EffectLedger:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._client = client
        self._ns = namespace
        self._script = client.register_script(_APPLY_ONCE)

    def apply_once(self, effect_id: str) -> bool:
        """Record one attempt; apply the effect if it was never applied. True if applied."""
        keys = [f"{self._ns}:effect:{effect_id}", f"{self._ns}:attempts", f"{self._ns}:applied"]
        return bool(self._script(keys=keys))

    def attempts(self) -> int:
        return int(self._client.get(f"{self._ns}:attempts") or 0)

    def applied(self) -> int:
        return int(self._client.get(f"{self._ns}:applied") or 0)
