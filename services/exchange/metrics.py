"""Prometheus metrics of the paper exchange: the ``hfos_exchange_`` family of the one
metrics catalogue (``streams/metrics.py``), under the short names this service uses.

DLQ records and processed events are counted by the shared counters, like every other
consumer's.
"""

from __future__ import annotations

from streams import metrics

FILLS = metrics.EXCHANGE_FILLS
ORDERS_SKIPPED = metrics.EXCHANGE_ORDERS_SKIPPED
FALLBACK_PRICE = metrics.EXCHANGE_FALLBACK_PRICE
REVALUATIONS = metrics.EXCHANGE_REVALUATIONS
TRANSACTIONS = metrics.EXCHANGE_TRANSACTIONS
TRANSACTION_SECONDS = metrics.EXCHANGE_TRANSACTION_SECONDS
ACCOUNTS = metrics.EXCHANGE_ACCOUNTS
OPEN_POSITIONS = metrics.EXCHANGE_OPEN_POSITIONS
REBUILD_SECONDS = metrics.EXCHANGE_REBUILD_SECONDS
