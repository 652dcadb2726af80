"""What every long-lived librdkafka client of hfos is built with, beside its own settings.

``metadata.recovery.strategy=none``: since librdkafka 2.10 a client that finds every
broker it learned unreachable starts a re-bootstrap (KIP-1102) and *decommissions* the
learned brokers. With one broker -- the local stack, or any cluster whose brokers all
restart -- a SIGKILL of the broker is exactly that. The decommissioned broker's handle can
stay cached as a coordinator: ``send_offsets_to_transaction`` then waits on it for ever,
past its own timeout, after the broker is back (librdkafka issue 5511, fix not released
in 2.16). Seen as the executor deciding nothing for ~70 s after such a restart (2 demo runs in 3),
until its commit watchdog ended it; reproduced 3 runs in 3 with a bare consume-produce
transaction loop, and 0 in 3 with this setting, which keeps the learned brokers and
reconnects to them as librdkafka did before 2.10
(``tests/services/bus/test_outage.py``). The bootstrap list is still used to start.
"""

from __future__ import annotations

from typing import Final

from services.bus.logs import LIBRDKAFKA_LOG

LONG_LIVED: Final = {"metadata.recovery.strategy": "none", "logger": LIBRDKAFKA_LOG}
"""Merged into the configuration of every producer and consumer that outlives a broker
restart (services, not one-shot reads)."""
