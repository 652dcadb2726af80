"""The consumer side of a promotion (SPEC §6), shared by the position monitor and the
executor: fetch, verify, load and warm OFF the hot path, swap atomically, acknowledge.

A service hands every ``model.promoted`` record it reads to :meth:`ModelConsumer.offer`
(cheap: it only queues the promotions of models the service serves) and calls
:meth:`ModelConsumer.poll` once per turn of its loop. One background thread does the slow
part — the fetch, the digest, onnxruntime's parsing and a warm-up run — so a decision
never waits for it. ``poll`` swaps a finished load in with one assignment (a reference to
an immutable :class:`Served`): a decision that reads :meth:`served` once uses one model
and one version throughout; there is no moment at which half of a model is in place. Then
it publishes ``model.loaded`` (with the milliseconds from the promotion being read to the
swap) or, when the load failed, ``model.load_failed`` with the typed error, keeping the
model it had.

A version this process has loaded before and still holds (a rollback to it) is swapped
back without fetching: it is the very artifact that was verified then, by digest.
Acknowledgements carry event ids derived from the promotion and the consumer, so the
same promotion read again after a restart is acknowledged under the same id.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from schemas.catalogue import MODEL_LOAD_FAILED, MODEL_LOADED, TopicNames
from schemas.contracts import contract
from schemas.envelope import envelope
from schemas.ids import derived_id
from services.bus.producer import EventProducer
from services.models.artifact import Artifact, fetch_verified
from services.models.exceptions import ArtifactError
from streams import metrics
from streams.models.coordinator import Promotion
from streams.models.records import promotion_from_record

log = logging.getLogger(__name__)

T = TypeVar("T")
Loader = Callable[[Promotion, Artifact], T]
"""Turns a verified artifact into what the service serves (a session, an exit model); raises
:class:`ArtifactError` when the model does not fit the service."""

KEEP_VERSIONS = 2
"""Versions held in memory per model: the one serving and the one before it, so a
rollback swaps back at once."""


@dataclass(frozen=True)
class Served(Generic[T]):
    """One loaded model version, immutable: what a decision reads once and uses whole."""

    model: str
    version: str
    sha256: str
    artifact_uri: str
    promotion_id: str
    value: T


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    promotion: Promotion
    received_at: float
    served: Served[T] | None
    error: ArtifactError | None


class ModelConsumer(Generic[T]):
    def __init__(
        self,
        producer: EventProducer,
        names: TopicNames,
        service: str,
        instance: str,
        loader: Loader[T],
        serves: Callable[[str], bool],
    ) -> None:
        self._producer, self._service, self._instance = producer, service, instance
        self._loaded_contract = contract(MODEL_LOADED, names)
        self._failed_contract = contract(MODEL_LOAD_FAILED, names)
        self._loader, self._serves = loader, serves
        self._current: dict[str, Served[T]] = {}
        self._held: dict[str, list[Served[T]]] = {}
        self._offered: dict[str, str] = {}
        """Model -> id of the last promotion queued: a promotion read again is not loaded
        again (the compacted topic is re-read from its beginning on every start)."""
        self._todo: queue.Queue[tuple[Promotion, float] | None] = queue.Queue()
        self._done: queue.Queue[_Outcome[T]] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"{service}-models", daemon=True)
        self._thread.start()

    # -- the service's loop ------------------------------------------------------------

    def offer(self, record: Mapping[str, Any]) -> None:
        """A ``model.promoted`` record the service read; queued if it serves the model."""
        promotion = promotion_from_record(record)
        if not self._serves(promotion.model):
            return
        if self._offered.get(promotion.model) == promotion.promotion_id:
            return
        self._offered[promotion.model] = promotion.promotion_id
        self._todo.put((promotion, time.monotonic()))

    def poll(self) -> list[Served[T]]:
        """Swap in what finished loading and acknowledge it; the models swapped in."""
        swapped: list[Served[T]] = []
        while True:
            try:
                outcome = self._done.get_nowait()
            except queue.Empty:
                return swapped
            if outcome.served is not None:
                self._swap(outcome.served, outcome)
                swapped.append(outcome.served)
            elif outcome.error is not None:
                self._refuse(outcome.promotion, outcome.error)

    def served(self, model: str) -> Served[T] | None:
        """The version serving now (one read: use the returned object for a whole decision)."""
        return self._current.get(model)

    def serving(self) -> Mapping[str, Served[T]]:
        return dict(self._current)

    def models(self) -> list[str]:
        """What to register in heartbeats: the models this instance serves."""
        return sorted(self._offered)

    def idle(self) -> bool:
        """Nothing queued or loading, and every outcome swapped in or answered."""
        return not self.loading() and self._done.empty()

    def loading(self) -> bool:
        """A promotion offered is still being fetched, verified or loaded."""
        return self._todo.unfinished_tasks > 0

    def close(self) -> None:
        self._todo.put(None)
        self._thread.join(5)

    # -- the swap and the answers ------------------------------------------------------

    def _swap(self, served: Served[T], outcome: _Outcome[T]) -> None:
        before = self._current.get(served.model)
        self._current[served.model] = served
        load_ms = int((time.monotonic() - outcome.received_at) * 1000)
        if before is not None:
            metrics.MODEL_VERSION_INFO.labels(self._service, served.model, before.version).set(0)
        metrics.MODEL_VERSION_INFO.labels(self._service, served.model, served.version).set(1)
        log.info(
            "models: %s %s serving (was %s), %d ms after its promotion was read",
            served.model,
            served.version,
            before.version if before else "none",
            load_ms,
        )
        self._producer.send(
            self._loaded_contract, served.model, self._loaded(outcome.promotion, load_ms)
        )

    def _loaded(self, promotion: Promotion, load_ms: int) -> dict[str, Any]:
        return {
            "envelope": self._envelope("model.loaded", promotion),
            "model_name": promotion.model,
            "version": promotion.version,
            "service": self._service,
            "instance": self._instance,
            "load_ms": load_ms,
        }

    def _refuse(self, promotion: Promotion, error: ArtifactError) -> None:
        kept = self._current.get(promotion.model)
        log.warning(
            "models: %s %s refused (%s); still serving %s",
            promotion.model,
            promotion.version,
            error,
            kept.version if kept else "none",
        )
        record = {
            "envelope": self._envelope("model.load_failed", promotion),
            "model_name": promotion.model,
            "version": promotion.version,
            "service": self._service,
            "instance": self._instance,
            "error": error.kind.value,
            "detail": str(error.detail)[:1000],
            "kept_version": kept.version if kept else None,
        }
        self._producer.send(self._failed_contract, promotion.model, record)

    def _envelope(self, purpose: str, promotion: Promotion) -> dict[str, Any]:
        event_id = derived_id(purpose, promotion.promotion_id, self._service, self._instance)
        return envelope(
            self._service,
            int(time.time() * 1000),
            event_id=event_id,
            correlation_id=promotion.promotion_id,
            causation_id=promotion.promotion_id,
        )

    # -- the background thread ---------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._todo.get()
            try:
                if item is None:
                    return
                promotion, received_at = item
                self._done.put(self._load(promotion, received_at))
            finally:
                self._todo.task_done()

    def _load(self, promotion: Promotion, received_at: float) -> _Outcome[T]:
        held = self._held_version(promotion)
        if held is not None:
            again = Served(
                held.model,
                held.version,
                held.sha256,
                held.artifact_uri,
                promotion.promotion_id,
                held.value,
            )
            return _Outcome(promotion, received_at, again, None)
        try:
            artifact = fetch_verified(promotion.artifact_uri, promotion.sha256, promotion.format)
            value = self._loader(promotion, artifact)
        except ArtifactError as error:
            return _Outcome(promotion, received_at, None, error)
        served = Served(
            promotion.model,
            promotion.version,
            promotion.sha256,
            promotion.artifact_uri,
            promotion.promotion_id,
            value,
        )
        kept = [s for s in self._held.get(promotion.model, []) if s.version != served.version]
        self._held[promotion.model] = [*kept, served][-KEEP_VERSIONS:]
        return _Outcome(promotion, received_at, served, None)

    def _held_version(self, promotion: Promotion) -> Served[T] | None:
        for served in self._held.get(promotion.model, []):
            same = (served.version, served.sha256) == (promotion.version, promotion.sha256)
            if same and served.artifact_uri == promotion.artifact_uri:
                return served
        return None


def serves_only(names: Collection[str]) -> Callable[[str], bool]:
    """A ``serves`` predicate for a fixed set of model names."""
    chosen = frozenset(names)
    return lambda model: model in chosen
