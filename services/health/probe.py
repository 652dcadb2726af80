"""What ``/healthz`` and ``/readyz`` answer for one service, from what its loop reported."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from streams import metrics

STALL_AFTER_SECONDS = 30.0
"""A loop that has not ticked this long is not alive. The executor's slowest healthy step
is a barrier (2 s) plus a transaction commit (a few seconds while a broker fails over);
the worker's timers fire every second. 30 s is far past both, and with the chart's
liveness probe (every 10 s, 3 failures) a wedged process is restarted within ~1 min."""

VERDICT_TTL_SECONDS = 15.0
"""A readiness verdict older than this no longer counts: the loop reports one a second."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


class Probe:
    """Thread-safe: the service's loop writes, the HTTP thread reads."""

    def __init__(
        self,
        service: str,
        *,
        stall_after_seconds: float = STALL_AFTER_SECONDS,
        verdict_ttl_seconds: float = VERDICT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self._stall_after = stall_after_seconds
        self._ttl = verdict_ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._ticked_at = clock()
        self._impaired: str | None = None
        self._ready: tuple[bool, str, float] = (False, "starting", clock())
        metrics.SERVICE_READY.labels(service).set(0)

    def tick(self) -> None:
        """The service's loop is turning."""
        with self._lock:
            self._ticked_at = self._clock()

    def impair(self, reason: str | None) -> None:
        """A condition that makes the process not alive while it holds (a stalled
        partition); ``None`` clears it."""
        with self._lock:
            self._impaired = reason

    def set_ready(self, ok: bool, detail: str) -> None:
        with self._lock:
            self._ready = (ok, detail, self._clock())
        metrics.SERVICE_READY.labels(self.service).set(1 if ok else 0)

    def liveness(self) -> Verdict:
        with self._lock:
            idle = self._clock() - self._ticked_at
            impaired = self._impaired
        if idle > self._stall_after:
            return Verdict(ok=False, detail=f"loop has not turned for {idle:.0f} s")
        if impaired is not None:
            return Verdict(ok=False, detail=impaired)
        return Verdict(ok=True, detail="alive")

    def readiness(self) -> Verdict:
        alive = self.liveness()
        if not alive.ok:
            return alive
        with self._lock:
            ok, detail, at = self._ready
            age = self._clock() - at
        if age > self._ttl:
            return Verdict(ok=False, detail=f"no readiness report for {age:.0f} s")
        return Verdict(ok=ok, detail=detail)
