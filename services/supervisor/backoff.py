"""The backoff schedule of one failure episode (SPEC §7): 1, 2, 4, 8, 16 s, 10 % jitter.

Each delay is stretched by up to 10 % jitter (delay x (1 + 0.1 u), u from the injected
random source in [0, 1)), so restarts of many subsystems after one outage spread out
instead of stampeding, and a delay is never shorter than its base. At most 5 attempts per
episode (31 s of base delay, under 35 s with jitter). The episode itself — when attempts
start, fail, run out, escalate — is :mod:`services.supervisor.episode`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from services.supervisor.exceptions import BackoffConfigError, RandomSourceError


class RandomSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1), like :class:`random.Random`."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class BackoffPolicy:
    """Base delays in seconds (one per attempt) and the jitter fraction."""

    delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    jitter: float = 0.10

    def __post_init__(self) -> None:
        if not self.delays or not all(math.isfinite(d) and d > 0 for d in self.delays):
            raise BackoffConfigError("delays", self.delays, "one or more finite numbers > 0")
        if not (math.isfinite(self.jitter) and 0 <= self.jitter <= 1):
            raise BackoffConfigError("jitter", self.jitter, "a fraction in [0, 1]")

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    def delay(self, attempt: int, source: RandomSource) -> float:
        """Seconds to wait before ``attempt`` (1-based), jitter included."""
        draw = source.random()
        if not (math.isfinite(draw) and 0 <= draw < 1):
            raise RandomSourceError(draw)
        return self.delays[attempt - 1] * (1 + self.jitter * draw)


DEFAULT_POLICY = BackoffPolicy()
