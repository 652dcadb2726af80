"""Errors of the event bus edges."""

from __future__ import annotations

from schemas.errors import HfosError


class BusError(HfosError):
    """Base of producer and consumer errors."""


class ProducerBufferFullError(BusError):
    """The producer's bounded buffer stayed full for the whole back-pressure wait.

    Nothing was dropped: the event was not accepted, and the caller still holds it. Slow
    down, or check the broker (``hfos stack status``, broker logs) — a full buffer means
    the broker has not acknowledged ``queued`` messages.
    """

    def __init__(self, topic: str, queued: int, waited_seconds: float) -> None:
        super().__init__(
            f"{topic}: producer buffer full ({queued} messages unacknowledged) after waiting "
            f"{waited_seconds:.1f} s; the event was NOT sent — retry it or check the broker"
        )
        self.topic = topic
        self.queued = queued
        self.waited_seconds = waited_seconds


class DeliveryError(BusError):
    """The broker refused an event for good (a fatal producer error, or shutdown)."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(f"{topic}: delivery failed: {problem}")
        self.topic = topic
        self.problem = problem


class UndeliveredOnCloseError(BusError):
    """Events still unacknowledged when the producer was closed."""

    def __init__(self, remaining: int, timeout: float) -> None:
        super().__init__(
            f"{remaining} events were not acknowledged within {timeout:.0f} s of shutdown"
        )
        self.remaining = remaining


class TransactionStuckError(BusError):
    """A transaction's commit kept timing out past the point where the broker aborts it.

    The process should end: a new one with the same transactional id fences this one and
    its inputs, never committed, are processed again. Check the broker
    (``hfos stack status``) if it happens outside a broker restart.
    """

    def __init__(self, transactional_id: str, waited_seconds: float) -> None:
        super().__init__(
            f"transaction {transactional_id}: commit not acknowledged in {waited_seconds:.0f} s "
            "(the broker has aborted it); ending so that a new process fences this one"
        )
        self.transactional_id = transactional_id
        self.waited_seconds = waited_seconds


class EndNotReachedError(BusError):
    """A ``read_committed`` read did not reach the log end its partitions had when it
    began: a transaction open there has not ended (a writer mid-commit, or one that died
    mid-transaction, which the broker aborts after its transaction timeout, 60 s), or the
    broker did not answer in time."""

    def __init__(self, behind: dict[tuple[str, int], tuple[int, int]], seconds: float) -> None:
        where = ", ".join(
            f"{topic}[{partition}] at {at} of {end}"
            for (topic, partition), (at, end) in sorted(behind.items())
        )
        super().__init__(
            f"not read to the end within {seconds:g} s: {where} - a transaction still open "
            "there (the broker aborts one left open after 60 s), or a broker slow to answer; "
            "try again"
        )
        self.behind = behind
        self.seconds = seconds


class ReadFailedError(BusError):
    """The consumer reported an error while reading ``topic`` (missing, not authorised,
    broker away past its retries)."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(f"reading {topic}: {problem}")
        self.topic = topic
        self.problem = problem


class MissingTopicError(BusError):
    """A topic to be read does not exist on the broker."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"{topic} is missing: provision the topics (hfos topics create)")
        self.topic = topic
