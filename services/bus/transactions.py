"""Consume-decide-produce in Kafka transactions: the outputs of a batch and the consumer
offsets that produced them commit together, or not at all.

A crash between producing an effect and committing its input's offset would otherwise
redeliver the input and produce the effect a second time. With a transaction the
redelivered input finds no committed effect (the aborted one is invisible to
``read_committed`` readers) and makes it exactly once. The next instance with the same
``transactional.id`` fences a zombie and aborts its open batch in :meth:`init`.
The executor and the paper exchange both produce through this one class.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaException, Message, TopicPartition

from schemas.serde import AvroSerde
from services.bus.exceptions import TransactionStuckError
from services.bus.producer import EventProducer

TRANSACTION_TIMEOUT_MS = 60_000
"""The broker aborts a transaction left open this long (a hung process): it bounds how
long ``read_committed`` readers can be held up by a zombie, far above a batch's
milliseconds. librdkafka requires ``message.timeout.ms`` <= this."""
_TIMEOUT_S = 30.0
GIVE_UP_SECONDS = TRANSACTION_TIMEOUT_MS / 1000
"""How long a restartable service retries one commit: the broker's transaction timeout,
after which the broker rolls the transaction back (within its 10 s check) and no retry
can commit it. Giving up earlier loses nothing either: the next process fences this one."""
_RETRY_PAUSE_S = 0.1
"""Between two tries of a retriable failure: librdkafka answers some at once."""
WATCHDOG_MARGIN_S = 5.0
"""How long past ``give_up_seconds`` a commit may still be inside librdkafka before the
watchdog ends the process: a retry that raises in that time ends it more gently."""
log = logging.getLogger(__name__)


class TransactionalProducer(EventProducer):
    """An :class:`EventProducer` whose sends happen inside :meth:`begin` ... :meth:`commit`.

    Call :meth:`init` once before the first transaction.
    """

    def __init__(
        self,
        client_config: Mapping[str, str],
        serde: AvroSerde,
        transactional_id: str,
        *,
        service: str = "hfos",
        extra_config: Mapping[str, Any] | None = None,
        on_stuck: Callable[[TransactionStuckError], None] | None = None,
    ) -> None:
        self._transactional_id = transactional_id
        self._on_stuck = on_stuck or end_process
        super().__init__(
            client_config,
            serde,
            service=service,
            extra_config={
                "transactional.id": transactional_id,
                "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                "message.timeout.ms": TRANSACTION_TIMEOUT_MS,
                # A transaction that starts right after a commit finds the previous one's
                # markers still being written (CONCURRENT_TRANSACTIONS) and is retried
                # after this backoff: the 100 ms default was the executor's p99.
                "retry.backoff.ms": 5,
                **(extra_config or {}),
            },
        )

    def init(self) -> None:
        """Register the transactional id: fences and aborts a predecessor's open batch."""
        self._producer.init_transactions(2 * _TIMEOUT_S)

    def begin(self) -> None:
        self._producer.begin_transaction()

    def commit(
        self,
        offsets: Sequence[TopicPartition] | None,
        group_metadata: Any,
        *,
        give_up_seconds: float | None = None,
    ) -> None:
        """Commit the sends since :meth:`begin`, with ``offsets`` (the next offset to read
        per input partition, :func:`next_offsets`) of the group ``group_metadata`` names.

        A retriable failure of either step (the coordinator moved, or is still loading after
        a broker restart) is retried -- for ever, or until
        ``give_up_seconds`` have passed, then :class:`TransactionStuckError` is raised.
        Any other failure is raised: the caller aborts (``txn_requires_abort``) or ends the
        process, and the batch's inputs, not committed either, are decided again under the
        same ids.

        Giving up is for a process that can end and be started again (the executor, the
        exchange): a commit that timed out can only be resumed, never aborted (librdkafka
        answers a begin or an abort with "Conflicting commit_transaction API call is
        already in progress"). And after a broker SIGKILL mid-transaction the executor's
        commit_transaction(30 s) was seen not to return at all for minutes, long after the
        broker was back and had rolled the transaction back: no exception to catch. So with
        ``give_up_seconds`` a watchdog ends the process (``on_stuck``) if the commit is
        still running ``WATCHDOG_MARGIN_S`` after that; a new process fences this one and
        decides its inputs again.
        """
        watchdog = None
        if give_up_seconds is not None:
            watchdog = threading.Timer(
                give_up_seconds + WATCHDOG_MARGIN_S, self._stuck, (time.monotonic(),)
            )
            watchdog.daemon = True
            watchdog.start()
        try:
            self._commit(offsets, group_metadata, give_up_seconds)
        finally:
            if watchdog is not None:
                watchdog.cancel()

    def _commit(
        self,
        offsets: Sequence[TopicPartition] | None,
        group_metadata: Any,
        give_up_seconds: float | None,
    ) -> None:
        started = time.monotonic()
        if offsets:
            # Retried like the commit: "Not coordinator" while a restarted broker loads its
            # coordinators is retriable, and ending the process on it (as before) put a new
            # executor in front of a broker still loading, seconds after its restart.
            batch = list(offsets)
            self._retrying(
                "sending the offsets",
                lambda: self._producer.send_offsets_to_transaction(
                    batch, group_metadata, _TIMEOUT_S
                ),
                started,
                give_up_seconds,
            )
        self._retrying(
            "transaction commit",
            lambda: self._producer.commit_transaction(_TIMEOUT_S),
            started,
            give_up_seconds,
        )

    def _retrying(
        self, what: str, call: Callable[[], None], started: float, give_up_seconds: float | None
    ) -> None:
        while True:
            try:
                call()
            except KafkaException as error:
                problem = error.args[0]
                if not problem.retriable():
                    raise
                waited = time.monotonic() - started
                if give_up_seconds is not None and waited >= give_up_seconds:
                    raise TransactionStuckError(self._transactional_id, waited) from error
                log.warning("%s: %s; retrying", what, problem.str())
                time.sleep(_RETRY_PAUSE_S)
                continue
            return

    def _stuck(self, started: float) -> None:
        self._on_stuck(TransactionStuckError(self._transactional_id, time.monotonic() - started))

    def abort(self) -> None:
        self._producer.abort_transaction(_TIMEOUT_S)

    def close(self, timeout: float = _TIMEOUT_S) -> None:
        self.flush(timeout)


STUCK_EXIT_CODE = 75
"""EX_TEMPFAIL, as the stream worker's stall exit: start me again (the supervisor does)."""


def end_process(stuck: TransactionStuckError) -> None:
    """End this process at once: its main thread is blocked inside librdkafka, where no
    exception reaches it. Every effect it made is in the uncommitted transaction."""
    log.critical("%s", stuck)
    logging.shutdown()
    os._exit(STUCK_EXIT_CODE)


def next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    """The offset to resume from per partition: one past the last record of the batch."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        if message.error() is None:
            key = (str(message.topic()), int(message.partition() or 0))
            last[key] = max(last.get(key, -1), int(message.offset() or 0))
    return [TopicPartition(topic, part, offset + 1) for (topic, part), offset in last.items()]
