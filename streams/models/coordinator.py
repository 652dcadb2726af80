"""The promotion coordinator's decisions (SPEC §6), with no I/O and time passed in.

A promotion is *acknowledged* when every consumer registered for its model when it was
published has loaded it (``model.loaded`` caused by that very promotion) by its deadline
— ``ack_timeout_ms`` after its event time. It is *refused* when any consumer could not
load it (``model.load_failed``). A refused promotion, or one past its deadline without
every acknowledgement, is rolled back: the previous version is promoted again with
``rollback_of`` set — unless there is none to return to (the first promotion of a model),
or the promotion is itself a rollback (which is never rolled back in turn): then it has
*failed*, and the consumers keep what they serve.

Every verdict depends only on event times and on ``as_of`` — the moment up to which every
input was handled — never on the order in which the inputs' topics were read (SPEC §1):
the same inputs give the same verdict after a restart, on another worker, in ``hfos model
status``. Registration comes from heartbeats (``system.heartbeat``'s ``models``): a
consumer is registered for a model over the span of its beats naming it, and counts for a
promotion when that span covers the promotion's time, give or take ``REGISTRATION_TTL_MS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_ACK_TIMEOUT_MS = 30_000
"""SPEC §6: a promotion not acknowledged within 30 s is rolled back."""

REGISTRATION_TTL_MS = 10_000
"""A consumer beats every second; one not heard of for 10 s has stopped serving. Ten beats
ride over a GC pause, a rebalance or a broker failover without unregistering anyone, and a
consumer that died just before a promotion (within 10 s) still counts for it: the
promotion then waits for it and is rolled back, which fails safe."""


class Verdict(StrEnum):
    PENDING = "PENDING"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ROLLED_BACK = "ROLLED_BACK"
    """Refused or not acknowledged in time; the previous version was promoted again."""
    FAILED = "FAILED"
    """Refused or not acknowledged in time, with nothing to roll back to."""
    SUPERSEDED = "SUPERSEDED"
    """Another promotion of the model came before this one was judged."""


@dataclass(frozen=True)
class Promotion:
    """A ``model.promoted`` record, as the coordinator needs it."""

    promotion_id: str
    model: str
    version: str
    at: int
    artifact_uri: str
    sha256: str
    format: str
    by: str
    previous_version: str | None = None
    previous_artifact_uri: str | None = None
    previous_sha256: str | None = None
    previous_format: str | None = None
    rollback_of: str | None = None

    def deadline(self, ack_timeout_ms: int) -> int:
        return self.at + ack_timeout_ms

    @property
    def can_roll_back(self) -> bool:
        return (
            self.rollback_of is None
            and self.previous_version is not None
            and self.previous_artifact_uri is not None
            and self.previous_sha256 is not None
        )


@dataclass(frozen=True)
class Ack:
    """A consumer loaded the promotion (``model.loaded``)."""

    consumer: str
    at: int
    version: str
    load_ms: int


@dataclass(frozen=True)
class Refusal:
    """A consumer could not load it (``model.load_failed``)."""

    consumer: str
    at: int
    version: str
    error: str
    detail: str


@dataclass(frozen=True)
class Span:
    """When a consumer's beats named a model: the first and the last one; ``ended`` is
    when a beat of it stopped naming it (or said it was stopping)."""

    first: int
    last: int
    ended: int | None = None

    def covers(self, at: int, ttl_ms: int = REGISTRATION_TTL_MS) -> bool:
        began = self.first <= at
        alive = self.last >= at - ttl_ms
        return began and alive and (self.ended is None or self.ended > at)


@dataclass(frozen=True)
class Registration:
    """A model consumer instance (``<service>/<instance>``) and its spans per model."""

    consumer: str
    spans: Mapping[str, Span] = field(default_factory=dict)


@dataclass(frozen=True)
class Responses:
    """What the consumers answered to one promotion (by promotion id)."""

    acks: Mapping[str, Ack] = field(default_factory=dict)
    refusals: Mapping[str, Refusal] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    required: frozenset[str]
    missing: frozenset[str]


def beat(
    held: Registration | None, consumer: str, models: Iterable[str], at: int, stopping: bool
) -> Registration:
    """``held`` after a heartbeat of ``consumer`` at ``at`` naming ``models``; a beat that
    stops naming a model (or a stopping beat) ends its span at once."""
    spans = dict(held.spans) if held is not None else {}
    named = set() if stopping else set(models)
    for model in named:
        span = spans.get(model)
        if span is None or span.ended is not None:
            spans[model] = Span(at, at)
        elif at > span.last:
            spans[model] = Span(span.first, at)
    for model, span in spans.items():
        if model not in named and span.ended is None:
            spans[model] = Span(span.first, span.last, at)
    return Registration(consumer, spans)


def required(
    promotion: Promotion, registrations: Iterable[Registration], ttl_ms: int = REGISTRATION_TTL_MS
) -> frozenset[str]:
    """The consumers registered for the promotion's model at its time."""
    return frozenset(
        registration.consumer
        for registration in registrations
        if (span := registration.spans.get(promotion.model)) is not None
        and span.covers(promotion.at, ttl_ms)
    )


def judge(
    promotion: Promotion,
    responses: Responses,
    registrations: Iterable[Registration],
    as_of: int | None,
    ack_timeout_ms: int = DEFAULT_ACK_TIMEOUT_MS,
    ttl_ms: int = REGISTRATION_TTL_MS,
) -> Judgement:
    """The verdict on ``promotion`` given every input handled up to ``as_of`` (None: not
    known yet, so only a refusal can decide). A refusal decides at once, whenever it came;
    an acknowledgement counts when it was published by the deadline."""
    needed = required(promotion, registrations, ttl_ms)
    deadline = promotion.deadline(ack_timeout_ms)
    on_time = {c for c, ack in responses.acks.items() if ack.at <= deadline}
    missing = needed - on_time
    if responses.refusals:
        refusal = min(responses.refusals.values(), key=lambda r: (r.at, r.consumer))
        why = f"refused by {refusal.consumer}: {refusal.error} ({refusal.detail})"
        return Judgement(_failure(promotion), why, needed, missing)
    if as_of is not None and as_of >= promotion.at and not missing:
        who = ", ".join(sorted(needed)) or "no registered consumer"
        return Judgement(Verdict.ACKNOWLEDGED, f"acknowledged by {who}", needed, missing)
    if as_of is not None and as_of >= deadline:
        why = f"not acknowledged within {ack_timeout_ms / 1000:g} s by {', '.join(sorted(missing))}"
        return Judgement(_failure(promotion), why, needed, missing)
    return Judgement(Verdict.PENDING, "waiting for acknowledgements", needed, missing)


def _failure(promotion: Promotion) -> Verdict:
    return Verdict.ROLLED_BACK if promotion.can_roll_back else Verdict.FAILED
