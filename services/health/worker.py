"""The stream worker's probe, fed from inside its Faust event loop.

* alive — a 1 s Faust timer ticks the probe, so a wedged event loop stops ticking and
  ``/healthz`` fails after :data:`~services.health.probe.STALL_AFTER_SECONDS`; a partition
  the watchdog finds stalled fails it at once (Kubernetes then restarts the worker from
  its committed offsets, as the watchdog's own exit would).
* ready — not rebalancing, tables recovered from their changelogs, the policy topics read
  to their end, a valid policy active, and a HEALTHY heartbeat acknowledged by the broker
  within :data:`ACK_WITHIN_SECONDS` (which also proves the broker is reachable).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import faust

from services.health.probe import Probe
from services.policy.view import PolicyView
from streams import metrics
from streams.heartbeat import INTERVAL_SECONDS, SERVICE, Heartbeat
from streams.watchdog import Watchdog

ACK_WITHIN_SECONDS = 5 * INTERVAL_SECONDS
"""Five beats: a broker's leader election (~1-3 s) does not flap readiness; a worker whose
beats stopped reaching Kafka for 5 s is no longer vouching for the control state."""


class WorkerHealth:
    def __init__(
        self,
        app: faust.App,
        probe: Probe,
        watchdog: Watchdog,
        heartbeat: Heartbeat,
        view: PolicyView,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app, self._probe = app, probe
        self._watchdog, self._heartbeat, self._view = watchdog, heartbeat, view
        self._clock = clock
        app.timer(1.0, name="health-probe")(self._report)

    async def _report(self) -> None:
        self.report()

    def report(self) -> None:
        probe = self._probe
        probe.tick()
        stalled = self._watchdog.stalled
        probe.impair(f"{stalled} input partition(s) stalled (watchdog)" if stalled else None)
        active = self._view.state().active() is not None
        metrics.POLICY_AVAILABLE.labels(SERVICE).set(1 if active else 0)
        reasons = self._not_ready(active=active)
        probe.set_ready(not reasons, "; ".join(reasons) or "caught up and connected")

    def _not_ready(self, *, active: bool) -> list[str]:
        reasons = []
        if self._app.rebalancing:
            reasons.append("rebalancing")
        if self._app.in_recovery:
            reasons.append("recovering tables from their changelogs")
        if not self._view.caught_up.is_set():
            reasons.append("policy topics not read to their end yet")
        elif not active:
            reasons.append("no valid active policy")
        acked = self._heartbeat.healthy_acknowledged_at
        if acked is None or self._clock() - acked > ACK_WITHIN_SECONDS:
            reasons.append(f"no HEALTHY heartbeat acknowledged within {ACK_WITHIN_SECONDS:.0f} s")
        return reasons
