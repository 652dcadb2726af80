"""The promotion coordinator inside the stream worker (SPEC §6): it owns the ``models``
table, so pending promotions, acknowledgements and registrations survive restarts.

One agent (concurrency 1) reads the four single-partition topics it judges by —
``model.promoted``, ``model.loaded``, ``model.load_failed``, ``system.heartbeat`` (where
model consumers register) — and its own ``model.promotion.check``. A refusal rolls the
promotion back at once; everything else is decided on a check.

The deadline is a check, as the ESS's cooldown is an END_COOLDOWN: Faust lets only the
agent write its table. Every second the timer finds, for each pending promotion, the
moment ``as_of`` up to which every input was handled (it asks the broker for the inputs'
end offsets and waits until the agent has handled up to them), and when
:func:`~streams.models.coordinator.judge` would decide as of then, sends a check carrying
``as_of``; the agent judges again with the very same ``as_of``, so the timer's view and
the table never disagree. A worker that replays its inputs from the beginning cannot judge
a promotion before it has handled the acknowledgements published for it.

The rollback is sent and acknowledged by the broker before the table records it: a crash
between the two repeats the rollback under the same derived event id (readers ignore a
promotion id they applied), never loses it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import faust

from schemas.catalogue import (
    MODEL_LOAD_FAILED,
    MODEL_LOADED,
    MODEL_PROMOTED,
    MODEL_PROMOTION_CHECK,
    SYSTEM_HEARTBEAT,
    TopicNames,
)
from schemas.enums import ServiceStatus
from schemas.keys import MODELS_TABLE
from schemas.serde import AvroSerde
from streams import metrics, timers
from streams.bus import Decoded, decoded, dlq_topic, sink_topic
from streams.models.coordinator import (
    DEFAULT_ACK_TIMEOUT_MS,
    Judgement,
    Promotion,
    Registration,
    Responses,
    Verdict,
    beat,
    judge,
)
from streams.models.records import (
    ack_from_record,
    check_record,
    consumer_key,
    promotion_from_json,
    promotion_from_record,
    promotion_to_json,
    refusal_from_record,
    registration_from_json,
    registration_to_json,
    responses_from_json,
    responses_to_json,
    rollback_record,
)

log = logging.getLogger(__name__)
PRODUCER = "hfos-model-coordinator"
SOURCES = (MODEL_PROMOTED, MODEL_LOADED, MODEL_LOAD_FAILED, SYSTEM_HEARTBEAT, MODEL_PROMOTION_CHECK)
FORGET_AFTER_MS = 24 * 60 * 60 * 1000
CHECK_SECONDS = 1.0
"""How often the timer looks at pending promotions: a deadline is judged within about a
second of every input being handled past it."""


def model_key(model: str) -> str:
    return f"model:{model}"


def acks_key(promotion_id: str) -> str:
    return f"acks:{promotion_id}"


def consumer_table_key(consumer: str) -> str:
    return f"consumer:{consumer}"


class CoordinatorBinding:
    def __init__(
        self,
        app: faust.App,
        names: TopicNames,
        serde: AvroSerde,
        *,
        ack_timeout_ms: int = DEFAULT_ACK_TIMEOUT_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.names, self.serde, self.clock = app, names, serde, clock
        self.ack_timeout_ms = ack_timeout_ms
        self.table = app.Table(MODELS_TABLE, default=None, partitions=1)
        self.kinds = {names.name(spec): spec for spec in SOURCES}
        self.dlqs = {names.name(spec): dlq_topic(app, spec, names) for spec in SOURCES}
        self.promotions = sink_topic(app, MODEL_PROMOTED, names, serde)
        self.checks = sink_topic(app, MODEL_PROMOTION_CHECK, names, serde)
        self._handled: dict[tuple[str, int], int] = {}
        """(topic, partition) -> the next offset after the last record the agent handled."""
        self._barrier: tuple[int, dict[Any, int]] | None = None
        self._as_of: int | None = None
        self._asked: set[tuple[str, str]] = set()
        source = app.topic(
            *self.kinds, key_serializer="raw", value_serializer="raw", partitions=1, internal=False
        )
        app.agent(source, name="model-coordinator", concurrency=1)(self._on_events)
        timers.register(app, CHECK_SECONDS, "model-coordinator", self._tick)

    def _now(self) -> int:
        return int(self.clock() * 1000)

    # -- the agent ---------------------------------------------------------------------

    async def _on_events(self, stream: Any) -> None:
        async for item in decoded(
            stream, SOURCES, self.names, self.serde, self.dlqs, "model-coordinator"
        ):
            await self._handle(item)
            self._handled[(item.topic, item.partition)] = item.offset + 1

    async def _handle(self, item: Decoded) -> None:
        kind, value = self.kinds[item.topic], item.value
        if kind is MODEL_PROMOTED:
            self._on_promoted(promotion_from_record(value))
        elif kind is MODEL_LOADED:
            promotion_id, ack = ack_from_record(value)
            if promotion_id:
                self._respond(
                    promotion_id, lambda r: Responses({**r.acks, ack.consumer: ack}, r.refusals)
                )
        elif kind is MODEL_LOAD_FAILED:
            promotion_id, refusal = refusal_from_record(value)
            if promotion_id:
                self._respond(
                    promotion_id,
                    lambda r: Responses(r.acks, {**r.refusals, refusal.consumer: refusal}),
                )
                await self._settle(str(value["model_name"]), promotion_id, None)
        elif kind is SYSTEM_HEARTBEAT:
            self._on_heartbeat(value)
        else:
            await self._settle(
                str(value["model_name"]), str(value["promotion_id"]), int(value["as_of"])
            )

    def _on_promoted(self, promotion: Promotion) -> None:
        held = self.table.get(model_key(promotion.model))
        if held is not None:
            current = promotion_from_json(held["promotion"])
            if current.promotion_id == promotion.promotion_id:
                return  # redelivered
            if held["verdict"] == Verdict.PENDING:
                log.info(
                    "models: %s %s superseded by %s",
                    current.model,
                    current.version,
                    promotion.version,
                )
            self.table.pop(acks_key(current.promotion_id), None)
        self.table[model_key(promotion.model)] = {
            "promotion": promotion_to_json(promotion),
            "verdict": Verdict.PENDING.value,
            "reason": "waiting for acknowledgements",
            "decided_at": None,
        }

    def _respond(self, promotion_id: str, change: Callable[[Responses], Responses]) -> None:
        key = acks_key(promotion_id)
        self.table[key] = responses_to_json(change(responses_from_json(self.table.get(key))))

    def _on_heartbeat(self, value: dict[str, Any]) -> None:
        consumer = consumer_key(str(value["service"]), str(value["instance"]))
        key = consumer_table_key(consumer)
        held = self.table.get(key)
        models = list(value.get("models") or ())
        if held is None and not models:
            return  # not a model consumer (the worker's own beats, the exchange's)
        before = None if held is None else registration_from_json(held)
        stopping = value["status"] == ServiceStatus.STOPPING.value
        at = int(value["envelope"]["event_time"])
        after = beat(before, consumer, models, at, stopping)
        if after != before:
            self.table[key] = registration_to_json(after)
        if stopping:
            self._forget_silent(at)

    def _forget_silent(self, now: int) -> None:
        """Registrations of consumers silent for a day can count for no promotion (the
        TTL is seconds): dropped, so that pod names Kubernetes gave and took back do not
        pile up in the table. Done on a stopping beat: pods stop about as often as they
        are replaced."""
        for key, value in list(self.table.items()):
            if not str(key).startswith("consumer:"):
                continue
            spans = registration_from_json(value).spans.values()
            if all(span.last < now - FORGET_AFTER_MS for span in spans):
                self.table.pop(key, None)

    async def _settle(self, model: str, promotion_id: str, as_of: int | None) -> None:
        held = self.table.get(model_key(model))
        if held is None or held["verdict"] != Verdict.PENDING.value:
            return
        promotion = promotion_from_json(held["promotion"])
        if promotion.promotion_id != promotion_id:
            return  # a check or a refusal of an earlier promotion
        judgement = self._judge(promotion, as_of)
        if judgement.verdict is Verdict.PENDING:
            return
        if judgement.verdict is Verdict.ROLLED_BACK:
            await self._roll_back(promotion, judgement)
        elif judgement.verdict is Verdict.FAILED:
            log.error(
                "models: %s %s failed with nothing to roll back to: %s",
                model,
                promotion.version,
                judgement.reason,
            )
        else:
            log.info("models: %s %s %s", model, promotion.version, judgement.reason)
        self.table[model_key(model)] = {
            **held,
            "verdict": judgement.verdict.value,
            "reason": judgement.reason,
            "decided_at": self._now(),
        }

    async def _roll_back(self, promotion: Promotion, judgement: Judgement) -> None:
        reason = f"rollback of {promotion.version}: {judgement.reason}"
        log.warning(
            "models: %s: promoting %s again; %s",
            promotion.model,
            promotion.previous_version,
            reason,
        )
        record = rollback_record(promotion, reason, PRODUCER, self._now())
        sent = await self.promotions.send(key=promotion.model.encode(), value=record)
        await sent  # acknowledged by the broker before the table says it happened

    def _judge(self, promotion: Promotion, as_of: int | None) -> Judgement:
        responses = responses_from_json(self.table.get(acks_key(promotion.promotion_id)))
        return judge(promotion, responses, self._registrations(), as_of, self.ack_timeout_ms)

    def _registrations(self) -> list[Registration]:
        return [
            registration_from_json(value)
            for key, value in list(self.table.items())
            if str(key).startswith("consumer:")
        ]

    # -- the timer ---------------------------------------------------------------------

    async def _tick(self) -> None:
        if self.app.rebalancing or self.app.in_recovery:
            return
        now = self._now()
        pending: list[Promotion] = []
        for key, held in list(self.table.items()):
            if not str(key).startswith("model:"):
                continue
            promotion = promotion_from_json(held["promotion"])
            waiting = held["verdict"] == Verdict.PENDING.value
            gauge = metrics.MODEL_PROMOTION_PENDING_SECONDS.labels(promotion.model)
            gauge.set(max(0, now - promotion.at) / 1000 if waiting else 0)
            if waiting:
                pending.append(promotion)
        self._asked = {
            asked for asked in self._asked if asked[0] in {p.promotion_id for p in pending}
        }
        if not pending:
            # No barrier either: it asks the broker for end offsets through the consumer's
            # thread, which the breaker's agents share, and nothing here needs one.
            self._barrier = None
            return
        as_of = await self._handled_as_of()
        if as_of is None:
            return
        for promotion in pending:
            if self._judge(promotion, as_of).verdict is Verdict.PENDING:
                continue
            asked = (promotion.promotion_id, str(as_of))
            if asked in self._asked:
                continue
            self._asked.add(asked)
            await self.checks.send(
                key=promotion.model.encode(),
                value=check_record(promotion.model, promotion.promotion_id, as_of, PRODUCER),
            )

    async def _handled_as_of(self) -> int | None:
        """The latest moment up to which every record of the inputs had been handled: a
        barrier asked of the broker (end offsets at a moment), passed once the agent has
        handled up to those ends. None until the first barrier passes."""
        consumer = self.app.consumer
        inputs = [tp for tp in consumer.assignment() if tp.topic in self.kinds]
        if not inputs:
            return None
        if self._barrier is None:
            asked_at = self._now()
            ends = await consumer.highwaters(*inputs)
            self._barrier = (asked_at, {tp: int(ends.get(tp, 0)) for tp in inputs})
        asked_at, ends = self._barrier
        committed: Any = getattr(consumer, "_committed_offset", {})
        for tp, end in ends.items():
            done = max(self._handled.get((tp.topic, tp.partition), 0), int(committed.get(tp) or 0))
            if done < end:
                return self._as_of
        self._as_of, self._barrier = asked_at, None
        return self._as_of
