"""``/healthz``, ``/readyz`` and ``/metrics`` on a service's metrics port (SPEC §8).

A service's own loop reports into a :class:`Probe` (it ticks; it says whether it is caught
up and connected); the HTTP thread only reads the probe, so a wedged loop shows as a
failing ``/healthz`` instead of a server that keeps saying "ok" on its own.
"""

from services.health.probe import Probe, Verdict
from services.health.server import HealthServer, serve

__all__ = ["HealthServer", "Probe", "Verdict", "serve"]
