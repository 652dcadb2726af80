"""The paper exchange (SPEC §5): a venue stand-in that fills orders at simulated prices.

:mod:`.book` is the pure core (wallets, positions, fills, revaluations); :mod:`.service`
is its Kafka edge, exactly once through Kafka transactions.
"""

from services.exchange.book import Fill, Order, PaperBook
from services.exchange.effects import BalanceUpdate, Effect, PositionClose, PositionUpdate
from services.exchange.trade import FillKind, Holding

__all__ = [
    "BalanceUpdate",
    "Effect",
    "Fill",
    "FillKind",
    "Holding",
    "Order",
    "PaperBook",
    "PositionClose",
    "PositionUpdate",
]
