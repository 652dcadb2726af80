"""The market simulator (SPEC §5, §9): seeded random-walk prices with scripted gaps, and
seeded trading signals, published to ``market.price`` and ``trade.signal``.

:mod:`.walk` and :mod:`.signals` are pure; :mod:`.service` publishes them at a pace.
"""

from services.simulator.signals import SignalDraft, SignalGenerator, SignalModel, SignalSource
from services.simulator.walk import Gap, RandomWalk, parse_gap, start_prices

__all__ = [
    "Gap",
    "RandomWalk",
    "SignalDraft",
    "SignalGenerator",
    "SignalModel",
    "SignalSource",
    "parse_gap",
    "start_prices",
]
