"""Prometheus metrics of the paper exchange (names in the ``hfos_exchange_`` family).

Labels are low-cardinality (what a fill did, why an order was not filled, an outcome),
never an account, a symbol or an id. DLQ records and processed events are counted by the
shared ``streams.metrics`` counters, like every other consumer's.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FILLS = Counter(
    "hfos_exchange_fills_total",
    "Orders filled, by what the fill did to the position.",
    ["kind"],
)
ORDERS_SKIPPED = Counter(
    "hfos_exchange_orders_skipped_total",
    "Orders not filled: duplicate (already filled) or unknown_account.",
    ["reason"],
)
FALLBACK_PRICE = Counter(
    "hfos_exchange_fallback_price_total",
    "Orders filled at their own price because no market.price of the symbol was seen yet.",
)
REVALUATIONS = Counter(
    "hfos_exchange_revaluations_total", "Positions marked to a new market price."
)
TRANSACTIONS = Counter(
    "hfos_exchange_transactions_total",
    "Kafka transactions of the exchange, by outcome (committed, aborted).",
    ["outcome"],
)
TRANSACTION_SECONDS = Histogram(
    "hfos_exchange_transaction_seconds",
    "Time from a batch being polled to its transaction being committed.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
ACCOUNTS = Gauge("hfos_exchange_accounts", "Accounts held by the paper book.")
OPEN_POSITIONS = Gauge("hfos_exchange_open_positions", "Open positions in the paper book.")
REBUILD_SECONDS = Gauge(
    "hfos_exchange_rebuild_seconds", "How long the last start took to rebuild the book."
)
