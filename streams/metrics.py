"""Every Prometheus metric of hfos, defined once: the metrics catalogue (STYLE.md: one place
for names).

Each metric is a :class:`MetricSpec` (name, type, labels, help, the parts that export it)
and the prometheus-client object built from it; services and stream agents import the
objects (``metrics.BREAKER_TRIPS``). ``docs/METRICS.md`` is generated from :data:`CATALOGUE`
(``python -m streams.metricsdoc``), and the tests refuse an alert rule or a dashboard panel
that names a metric not in it.

Labels are low-cardinality: a topic, a service, an outcome, a scope. The one exception is
``account`` on the ``hfos_account_*`` gauges: an hfos deployment trades a bounded,
operator-defined set of accounts (tens, not millions), and equity per account is what the
operator watches. Never an event id, a signal id or a symbol.

A metric may be declared before the part that exports it exists, so that the alert rules
needing it are written and tested first; :attr:`Part.landed` says honestly whether
anything exports it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from prometheus_client import Counter, Gauge, Histogram

from schemas.enums import BreachRule


class Part(Enum):
    """A long-running process that serves ``/metrics`` (or a CLI that updates one)."""

    WORKER = ("hfos worker", True)
    EXECUTOR = ("hfos executor run", True)
    EXCHANGE = ("hfos exchange run", True)
    CLI = ("hfos CLI commands", True)
    MONITOR = ("hfos monitor run", True)
    SUPERVISOR = ("hfos supervise", True)

    def __init__(self, command: str, landed: bool) -> None:
        self.command = command
        self.landed = landed
        """False while the part does not exist: its metrics are declared, never updated."""


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()
    buckets: tuple[float, ...] = ()

    def series(self) -> tuple[str, ...]:
        """The sample names Prometheus stores for this metric (what PromQL can select)."""
        if self.kind is Kind.HISTOGRAM:
            return tuple(f"{self.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        return (self.name,)


CATALOGUE: list[MetricSpec] = []

_W, _E, _X, _C, _M = Part.WORKER, Part.EXECUTOR, Part.EXCHANGE, Part.CLI, Part.MONITOR
_CONSUMERS = (_W, _E, _X, _M)


def _register(spec: MetricSpec) -> MetricSpec:
    if any(known.name == spec.name for known in CATALOGUE):
        raise ValueError(f"metric {spec.name} is declared twice")
    CATALOGUE.append(spec)
    return spec


def _documentation(spec: MetricSpec) -> str:
    # prometheus-client appends _total to a counter itself; the catalogue names the series.
    return spec.name.removesuffix("_total") if spec.kind is Kind.COUNTER else spec.name


def counter(name: str, help_: str, labels: tuple[str, ...], *parts: Part) -> Counter:
    spec = _register(MetricSpec(name, Kind.COUNTER, help_, labels, parts))
    return Counter(_documentation(spec), spec.help, list(spec.labels))


def gauge(name: str, help_: str, labels: tuple[str, ...], *parts: Part) -> Gauge:
    spec = _register(MetricSpec(name, Kind.GAUGE, help_, labels, parts))
    return Gauge(spec.name, spec.help, list(spec.labels))


def histogram(
    name: str, help_: str, labels: tuple[str, ...], buckets: tuple[float, ...], *parts: Part
) -> Histogram:
    spec = _register(MetricSpec(name, Kind.HISTOGRAM, help_, labels, parts, buckets))
    return Histogram(spec.name, spec.help, list(spec.labels), buckets=spec.buckets)


def spec(name: str) -> MetricSpec:
    """The catalogue entry named ``name``; KeyError if there is none."""
    for known in CATALOGUE:
        if known.name == name:
            return known
    raise KeyError(name)


# -- event bus -------------------------------------------------------------------------

PRODUCER_QUEUE_DEPTH = gauge(
    "hfos_producer_queue_depth",
    "Messages waiting in the producer's buffer for delivery.",
    ("service",),
    _E,
    _X,
    _C,
)
PRODUCER_QUEUE_CAPACITY = gauge(
    "hfos_producer_queue_capacity",
    "Messages the producer's buffer holds before a send blocks (queue.buffering.max.messages).",
    ("service",),
    _E,
    _X,
    _C,
)
PRODUCER_DELIVERED = counter(
    "hfos_producer_delivered_total", "Events acknowledged by the broker.", ("topic",), _E, _X, _C
)
PRODUCER_FAILED = counter(
    "hfos_producer_failed_total", "Events whose delivery failed for good.", ("topic",), _E, _X, _C
)
PRODUCER_BACKPRESSURE = counter(
    "hfos_producer_backpressure_total",
    "Sends that waited because the producer buffer was full.",
    ("topic",),
    _E,
    _X,
    _C,
)
EVENTS_PROCESSED = counter(
    "hfos_events_processed_total",
    "Events consumed and handled.",
    ("topic", "consumer"),
    *_CONSUMERS,
)
PROCESSING_SECONDS = histogram(
    "hfos_event_processing_seconds",
    "Time from a record being polled to its effect being durable.",
    ("consumer",),
    (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
DLQ_RECORDS = counter(
    "hfos_dlq_records_total",
    "Records sent to a dead-letter topic.",
    ("topic", "error"),
    *_CONSUMERS,
)
CONSUMER_LAG = gauge(
    "hfos_consumer_lag",
    "Records of a consumed topic not yet processed (end offset minus position), summed "
    "over the partitions this process holds.",
    ("consumer", "topic"),
    *_CONSUMERS,
)

# -- policy ----------------------------------------------------------------------------

POLICY_VERSION = gauge(
    "hfos_policy_version",
    "Version of the active profile a reader last returned.",
    ("reader", "profile"),
    _E,
    _C,
)
POLICY_AVAILABLE = gauge(
    "hfos_policy_available",
    "1 when the reader holds a valid active policy; 0 means new risk is refused.",
    ("reader",),
    _W,
    _E,
)
POLICY_AGE_SECONDS = gauge(
    "hfos_policy_age_seconds",
    "Age of the policy version a reader last returned (since it was written).",
    ("reader",),
    _E,
    _C,
)
POLICY_REDIS_AVAILABLE = gauge(
    "hfos_policy_redis_available",
    "1 when the last Redis read (readers) or write-through (reader=worker-cache) succeeded.",
    ("reader",),
    _W,
    _C,
)
POLICY_REFUSED_WRITES = counter(
    "hfos_policy_refused_writes_total",
    "Policy writes refused, by typed reason.",
    ("reason",),
    _W,
    _C,
)

# -- breaker and emergency stop --------------------------------------------------------

BREAKER_TRIPS = counter(
    "hfos_breaker_trips_total", "Circuit-breaker triggers published, by rule.", ("rule",), _W
)
# Every rule's series exists from the start at 0: the first trip is then an increase that
# Prometheus sees (a series born at 1 is invisible to increase(), and to the alert).
for _rule in BreachRule:
    BREAKER_TRIPS.labels(_rule.value)
BREAKER_LIMIT = gauge(
    "hfos_breaker_limit",
    "The limit (a fraction) the breaker judged its last event with, by rule.",
    ("rule",),
    _W,
)
ACCOUNT_EQUITY = gauge(
    "hfos_account_equity",
    "Mark-to-market equity of an account, in the account currency, as the breaker last saw it.",
    ("account",),
    _W,
)
ACCOUNT_DRAWDOWN = gauge(
    "hfos_account_drawdown",
    "Drawdown from the account's peak equity (a fraction), as the breaker last judged it.",
    ("account",),
    _W,
)
ACCOUNT_DAILY_LOSS = gauge(
    "hfos_account_daily_loss",
    "Loss since the start of the UTC day (a fraction), as the breaker last judged it.",
    ("account",),
    _W,
)
EXECUTION_ERRORS = counter(
    "hfos_execution_errors_total",
    "Orders a venue could not execute (order.failed) that entered the execution-error "
    "window, by reason (a failure delivered twice counts once).",
    ("reason",),
    _W,
)
ESS_STATE = gauge(
    "hfos_ess_state",
    "1 for the state each emergency-stop scope is in, 0 for the others.",
    ("scope", "state"),
    _W,
)
BREAKER_EVENT_LAG_SECONDS = histogram(
    "hfos_breaker_event_lag_seconds",
    "From an equity event's event time to the breaker having judged it (and sent any trigger).",
    (),
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
    _W,
)
BREAKER_BATCH_SECONDS = histogram(
    "hfos_breaker_batch_seconds",
    "Time the breaker took to judge one batch of events (decode, core, table, effects).",
    (),
    (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    _W,
)
STREAM_STALLED_PARTITIONS = gauge(
    "hfos_stream_stalled_partitions",
    "Assigned input partitions with records waiting and no progress (streams/watchdog.py).",
    (),
    _W,
)

# -- executor --------------------------------------------------------------------------

EXECUTOR_DECISIONS = counter(
    "hfos_executor_decisions_total",
    "Executor decisions: 'accepted' or the typed reject reason.",
    ("outcome",),
    _E,
)
EXECUTOR_DECISION_SECONDS = histogram(
    "hfos_executor_decision_seconds",
    "From a signal's event time to its decision.",
    (),
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
    _E,
)
EXECUTOR_BARRIER_SECONDS = histogram(
    "hfos_executor_barrier_seconds",
    "Time to read the control topics up to their end before deciding a batch.",
    (),
    (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0),
    _E,
)
EXECUTOR_READY = gauge(
    "hfos_executor_ready", "1 when the last batch was decided on state read to the end.", (), _E
)
EXECUTOR_IN_FLIGHT = gauge(
    "hfos_executor_orders_in_flight",
    "Accepted orders that open or increase a position, their fill not yet seen.",
    (),
    _E,
)
EXECUTOR_DUPLICATES = counter(
    "hfos_executor_duplicate_signals_total",
    "Signals skipped because their id was decided.",
    (),
    _E,
)
CONTROL_HEARTBEAT_AGE = gauge(
    "hfos_control_heartbeat_age_seconds",
    "Seconds since the executor last received a HEALTHY heartbeat of the stream worker "
    "(its dead-man's switch refuses new risk past the bound).",
    (),
    _E,
)

# -- paper exchange ----------------------------------------------------------------------

EXCHANGE_FILLS = counter(
    "hfos_exchange_fills_total",
    "Orders filled, by what the fill did to the position.",
    ("kind",),
    _X,
)
EXCHANGE_ORDERS_SKIPPED = counter(
    "hfos_exchange_orders_skipped_total",
    "Orders not filled: duplicate (already filled) or unknown_account.",
    ("reason",),
    _X,
)
EXCHANGE_FALLBACK_PRICE = counter(
    "hfos_exchange_fallback_price_total",
    "Orders filled at their own price because no market.price of the symbol was seen yet.",
    (),
    _X,
)
EXCHANGE_REVALUATIONS = counter(
    "hfos_exchange_revaluations_total", "Positions marked to a new market price.", (), _X
)
EXCHANGE_TRANSACTIONS = counter(
    "hfos_exchange_transactions_total",
    "Kafka transactions of the exchange, by outcome (committed, aborted).",
    ("outcome",),
    _X,
)
EXCHANGE_TRANSACTION_SECONDS = histogram(
    "hfos_exchange_transaction_seconds",
    "Time from a batch being polled to its transaction being committed.",
    (),
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
    _X,
)
EXCHANGE_ACCOUNTS = gauge("hfos_exchange_accounts", "Accounts held by the paper book.", (), _X)
EXCHANGE_OPEN_POSITIONS = gauge(
    "hfos_exchange_open_positions", "Open positions in the paper book.", (), _X
)
EXCHANGE_REBUILD_SECONDS = gauge(
    "hfos_exchange_rebuild_seconds", "How long the last start took to rebuild the book.", (), _X
)

# -- every service -----------------------------------------------------------------------

SERVICE_READY = gauge(
    "hfos_service_ready",
    "1 while the service's /readyz answers ready (caught up on its control topics, connected).",
    ("service",),
    *_CONSUMERS,
)

# -- position monitor and model promotion ------------------------------------------------

MONITOR_SCORES = counter(
    "hfos_monitor_scores_total",
    "Open positions scored by the exit model, by the model and version that scored them.",
    ("model", "version"),
    _M,
)
MONITOR_CLOSE_SIGNALS = counter(
    "hfos_monitor_close_signals_total",
    "CLOSE signals the exit model asked for, by model and version.",
    ("model", "version"),
    _M,
)
MONITOR_DECISION_SECONDS = histogram(
    "hfos_monitor_decision_seconds",
    "From a price or account update being read to its positions scored and any CLOSE sent.",
    (),
    (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0),
    _M,
)
MONITOR_FLASH_CRASHES = counter(
    "hfos_monitor_flash_crashes_total",
    "Flash-crash episodes sent to the ESS, by what fell (symbol or account).",
    ("source",),
    _M,
)
MODEL_PROMOTION_PENDING_SECONDS = gauge(
    "hfos_model_promotion_pending_seconds",
    "Age of a promotion not yet acknowledged by every registered consumer; 0 when none.",
    ("model",),
    _W,
)
MODEL_VERSION_INFO = gauge(
    "hfos_model_version_info",
    "1 for the model version a service serves (0 for one it served before).",
    ("service", "model", "version"),
    _M,
    _E,
)

# -- supervisor ----------------------------------------------------------------------------

RECOVERY_ATTEMPTS = counter(
    "hfos_recovery_attempts_total",
    "Supervisor recovery attempts by subsystem and outcome (ATTEMPT_STARTED, "
    "ATTEMPT_SUCCEEDED, ATTEMPT_FAILED).",
    ("subsystem", "outcome"),
    Part.SUPERVISOR,
)
RECOVERY_EXHAUSTED = counter(
    "hfos_recovery_exhausted_total",
    "Failure episodes that used every recovery attempt without the subsystem staying up.",
    ("subsystem",),
    Part.SUPERVISOR,
)
RECOVERY_EPISODE_OPEN = gauge(
    "hfos_recovery_episode_open",
    "1 while a subsystem has an open failure episode (failing, recovering or not yet "
    "stable for the stable period), else 0.",
    ("subsystem",),
    Part.SUPERVISOR,
)
