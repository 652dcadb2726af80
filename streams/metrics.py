"""Every Prometheus metric of hfos, defined once (STYLE.md: one place for names).

Services and stream agents import the metric objects from here; labels are low-cardinality
(topic, service, outcome), never an account id or an event id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PRODUCER_QUEUE_DEPTH = Gauge(
    "hfos_producer_queue_depth",
    "Messages waiting in the producer's buffer for delivery.",
    ["service"],
)
PRODUCER_DELIVERED = Counter(
    "hfos_producer_delivered_total", "Events acknowledged by the broker.", ["topic"]
)
PRODUCER_FAILED = Counter(
    "hfos_producer_failed_total", "Events whose delivery failed for good.", ["topic"]
)
PRODUCER_BACKPRESSURE = Counter(
    "hfos_producer_backpressure_total",
    "Sends that waited because the producer buffer was full.",
    ["topic"],
)
EVENTS_PROCESSED = Counter(
    "hfos_events_processed_total", "Events consumed and handled.", ["topic", "consumer"]
)
PROCESSING_SECONDS = Histogram(
    "hfos_event_processing_seconds",
    "Time from a record being polled to its effect being durable.",
    ["consumer"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
DLQ_RECORDS = Counter(
    "hfos_dlq_records_total", "Records sent to a dead-letter topic.", ["topic", "error"]
)
POLICY_VERSION = Gauge(
    "hfos_policy_version",
    "Version of the active profile a reader last returned.",
    ["reader", "profile"],
)
POLICY_AGE_SECONDS = Gauge(
    "hfos_policy_age_seconds", "Age of the policy version a reader last returned.", ["reader"]
)
POLICY_REDIS_AVAILABLE = Gauge(
    "hfos_policy_redis_available", "1 when the reader's last Redis read succeeded.", ["reader"]
)
POLICY_REFUSED_WRITES = Counter(
    "hfos_policy_refused_writes_total", "Policy writes refused, by typed reason.", ["reason"]
)
BREAKER_TRIPS = Counter(
    "hfos_breaker_trips_total", "Circuit-breaker triggers published, by rule.", ["rule"]
)
EXECUTION_ERRORS = Counter(
    "hfos_execution_errors_total",
    "Orders a venue could not execute (order.failed) that entered the execution-error "
    "window, by reason (a failure delivered twice counts once).",
    ["reason"],
)
ESS_STATE = Gauge(
    "hfos_ess_state",
    "1 for the state each emergency-stop scope is in, 0 for the others.",
    ["scope", "state"],
)
STREAM_STALLED_PARTITIONS = Gauge(
    "hfos_stream_stalled_partitions",
    "Assigned input partitions with records waiting and no progress (streams/watchdog.py).",
)
EXECUTOR_DECISIONS = Counter(
    "hfos_executor_decisions_total",
    "Executor decisions: 'accepted' or the typed reject reason.",
    ["outcome"],
)
EXECUTOR_DECISION_SECONDS = Histogram(
    "hfos_executor_decision_seconds",
    "From a signal's event time to its decision.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
EXECUTOR_BARRIER_SECONDS = Histogram(
    "hfos_executor_barrier_seconds",
    "Time to read the control topics up to their end before deciding a batch.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0),
)
EXECUTOR_READY = Gauge(
    "hfos_executor_ready", "1 when the last batch was decided on state read to the end."
)
EXECUTOR_IN_FLIGHT = Gauge(
    "hfos_executor_orders_in_flight",
    "Accepted orders that open or increase a position, their fill not yet seen.",
)
EXECUTOR_DUPLICATES = Counter(
    "hfos_executor_duplicate_signals_total", "Signals skipped because their id was decided."
)
RECOVERY_ATTEMPTS = Counter(
    "hfos_recovery_attempts_total",
    "Supervisor recovery attempts by subsystem and outcome (ATTEMPT_STARTED, "
    "ATTEMPT_SUCCEEDED, ATTEMPT_FAILED).",
    ["subsystem", "outcome"],
)
RECOVERY_EXHAUSTED = Counter(
    "hfos_recovery_exhausted_total",
    "Failure episodes that used every recovery attempt without the subsystem staying up.",
    ["subsystem"],
)
RECOVERY_EPISODE_OPEN = Gauge(
    "hfos_recovery_episode_open",
    "1 while a subsystem has an open failure episode (failing, recovering or not yet "
    "stable for the stable period), else 0.",
    ["subsystem"],
)
