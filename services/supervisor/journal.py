"""Writing the supervisor's records to Kafka, from a thread of its own, in transactions.

Each entry — the history lines of one step, the subsystem's new state and, once per
episode, the escalation command — commits in ONE transaction, so a restarted supervisor
never finds a state that disagrees with the history, nor an escalation without the state
that remembers it was sent. The supervising loop only queues entries and never waits on
Kafka: when the broker itself is the failed part, entries wait in this process's memory
(there is no disk spool, SPEC §0) and commit in order once it is back.

The transactional id is one per deployment (its topic prefix): a second supervisor of the
same deployment fences the first, whose next commit fails for good (``fenced``), so two
supervisors never restart the same parts from two different states. A producer that fails
for good otherwise is replaced by a new one under the same id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException

from schemas.catalogue import ESS_COMMAND, RECOVERY_STATE, SYSTEM_RECOVERY, TopicNames
from schemas.contracts import contract
from schemas.errors import HfosError
from schemas.serde import AvroSerde, Contract
from services.bus.transactions import TransactionalProducer
from services.supervisor.exceptions import JournalFencedError

log = logging.getLogger(__name__)

FENCED = frozenset(
    {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}
)
"""Fatal errors that mean another producer took the transactional id: another supervisor
of the deployment. Any other fatal error (INVALID_TXN_STATE after the broker was SIGKILLed
mid-transaction and rolled it back, seen in hfos demo's scenario 5) ends only this
producer: a new one registers the id again and the entries commit, instead of the
supervisor stopping as if another had taken over."""
RETRY_SECONDS = 0.5
"""Pause between two tries of a batch the broker did not take (it is away, or restarting):
short beside a broker restart (~5-20 s here), long enough not to spin."""


@dataclass(frozen=True)
class Entry:
    """What one supervising step writes, keyed by subsystem."""

    subsystem: str
    lines: Sequence[Mapping[str, Any]]
    state: Mapping[str, Any]
    escalation: Mapping[str, Any] | None = None


class Journal(Protocol):
    """Where the supervisor's entries go (Kafka, or memory in tests)."""

    def append(self, entry: Entry) -> None: ...

    def fenced(self) -> JournalFencedError | None: ...


def transactional_id(names: TopicNames) -> str:
    return f"{names.prefix}hfos-supervisor"


class KafkaJournal:
    def __init__(
        self, client_config: Mapping[str, str], serde: AvroSerde, names: TopicNames
    ) -> None:
        self._history = contract(SYSTEM_RECOVERY, names)
        self._state = contract(RECOVERY_STATE, names)
        self._ess = contract(ESS_COMMAND, names)
        self._serde = serde
        self._id = transactional_id(names)
        self._client_config = client_config
        self._producer = self._new_producer()
        self._renew = False
        self._queue: deque[Entry] = deque()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._fenced: JournalFencedError | None = None
        self._committed = 0
        self._thread: threading.Thread | None = None

    def _new_producer(self) -> TransactionalProducer:
        return TransactionalProducer(
            self._client_config, self._serde, self._id, service="hfos-supervisor"
        )

    def init(self) -> None:
        """Register the transactional id: fences a predecessor and aborts its open batch,
        so that reading ``system.recovery.state`` afterwards is not held up by it."""
        self._producer.init()
        # The schema ids are looked up now, while the registry answers: an entry written
        # during a registry outage (one of the parts this process heals) needs none.
        for target in (self._history, self._state, self._ess):
            self._serde.schema_id(target)
        self._thread = threading.Thread(target=self._run, name="supervisor-journal", daemon=True)
        self._thread.start()

    def append(self, entry: Entry) -> None:
        with self._wake:
            self._queue.append(entry)
            self._wake.notify()

    def fenced(self) -> JournalFencedError | None:
        return self._fenced

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def flush(self, timeout: float) -> bool:
        """Wait until every queued entry is committed; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline and self._fenced is None:
            time.sleep(0.02)
        return not self.pending()

    def close(self, timeout: float = 10.0) -> None:
        if not self.flush(timeout):
            log.warning(
                "supervisor journal: %d entries not committed within %g s (Kafka away): "
                "they end with this process",
                self.pending(),
                timeout,
            )
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the writer thread ------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set() and self._fenced is None:
            batch = self._take()
            if batch and not self._commit(batch):
                return
            with self._wake:
                for _ in batch:
                    self._queue.popleft()

    def _take(self) -> list[Entry]:
        with self._wake:
            if not self._queue:
                self._wake.wait(0.2)
            return list(self._queue)

    def _commit(self, batch: list[Entry]) -> bool:
        """Commit ``batch`` in one transaction, retrying until the broker takes it; False
        when this supervisor was fenced (another one took over)."""
        while not self._stop.is_set():
            try:
                self._transaction(batch)
            except (KafkaException, HfosError) as failure:
                if not self._recover(failure):
                    return False
                time.sleep(RETRY_SECONDS)
                continue
            self._committed += len(batch)
            return True
        return False

    def _transaction(self, batch: list[Entry]) -> None:
        if self._renew:
            self._producer = self._new_producer()
            self._producer.init()  # raises while the broker is away: tried again later
            self._renew = False
        self._producer.begin()
        for entry in batch:
            for line in entry.lines:
                self._send(self._history, entry.subsystem, line)
            if entry.escalation is not None:
                self._send(self._ess, str(entry.escalation["scope"]), entry.escalation)
            self._send(self._state, entry.subsystem, entry.state)
        self._producer.commit(None, None)

    def _send(self, target: Contract, key: str, record: Mapping[str, Any]) -> None:
        self._producer.send(target, key, record)

    def _recover(self, failure: Exception) -> bool:
        """After a failed transaction: abort what can be aborted and say whether to retry."""
        error = failure.args[0] if failure.args else None
        if isinstance(error, KafkaError) and error.fatal():
            if error.code() in FENCED:
                self._fenced = JournalFencedError(self._id, error.str())
                log.error("supervisor journal: %s", self._fenced)
                return False
            log.warning(
                "supervisor journal: the producer failed for good (%s); a new one takes "
                "the transactional id over",
                error.str(),
            )
            self._renew = True
            return True
        reason = error.str() if isinstance(error, KafkaError) else str(failure)
        log.warning("supervisor journal: batch not committed (%s); retrying", reason)
        try:
            self._producer.abort()
        except KafkaException as abort_failure:
            log.debug("supervisor journal: abort failed: %s", abort_failure)
        return True
