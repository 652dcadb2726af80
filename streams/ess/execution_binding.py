"""The execution-error trigger inside the stream app (SPEC §4: >= 5 execution errors in
15 minutes put the account into REDUCING).

One agent (concurrency 1) reads ``order.failed``, keyed and partitioned by account, and
keeps each account's newest errors in the changelog-backed ``execution_errors`` table,
so a restart or rebalance forgets no error. An error is placed in time by its own
``event_time`` (when the venue reported it), never by when it was read: a replay after a
restart judges the same window. The window counts an order once, so a redelivered failure
(or a second report of the same order) has no second effect; a tripping error sends an
``ess.command`` REDUCE for ``account:<id>`` whose command id and cause are derived from
that error's event id, and the ESS ignores a cause it has seen before.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from schemas.catalogue import ACCOUNT_PARTITIONS, ESS_COMMAND, ORDER_FAILED, TopicNames
from schemas.enums import EssCommandKind, EssTrigger, ExecutionFailure
from schemas.envelope import envelope
from schemas.ids import derived_id
from schemas.keys import EXECUTION_ERRORS_TABLE
from schemas.serde import AvroSerde
from streams import metrics
from streams.bus import Decoded, decoded, dlq_topic, sink_topic
from streams.ess.execution_errors import ERROR_THRESHOLD, ERROR_WINDOW_MS, ErrorWindow, record_error

log = logging.getLogger(__name__)
PRODUCER = "hfos-execution-errors"
NOT_COUNTED = frozenset({ExecutionFailure.NOTHING_TO_REDUCE.value})
"""Answers that are not execution errors: a reduce-only order for a position the venue had
just closed is moot, not a venue fault; counting it would push an account to REDUCING for
a race between a close signal and the venue's own close."""


class ExecutionErrorBinding:
    def __init__(self, app: faust.App, names: TopicNames, serde: AvroSerde) -> None:
        self.names, self.serde = names, serde
        self.table = app.Table(EXECUTION_ERRORS_TABLE, default=None, partitions=ACCOUNT_PARTITIONS)
        self.dlq = dlq_topic(app, ORDER_FAILED, names)
        self.ess = sink_topic(app, ESS_COMMAND, names, serde)
        source = app.topic(
            names.name(ORDER_FAILED),
            key_serializer="raw",
            value_serializer="raw",
            partitions=ACCOUNT_PARTITIONS,
            internal=False,
        )
        app.agent(source, name="execution-errors", concurrency=1)(self._on_failures)

    async def _on_failures(self, stream: Any) -> None:
        async for item in decoded(
            stream, ORDER_FAILED, self.names, self.serde, self.dlq, "execution-errors"
        ):
            await self._handle(item)

    async def _handle(self, item: Decoded) -> None:
        value = item.value
        if value["reason"] in NOT_COUNTED:
            return
        account = str(value["account_id"])
        env = value["envelope"]
        event_id, at = str(env["event_id"]), int(env["event_time"])
        held = self.table.get(account)
        window = ErrorWindow() if held is None else ErrorWindow.from_json(held)
        order_id = str(value["order_id"])
        after, tripped = record_error(window, at, order_id)
        if after == window:
            # A failure of an order already counted, or one older than every error the
            # full window keeps (it cannot change whether the newest five are too close).
            log.info("failure %s of order %s leaves the window as it was", event_id, order_id)
            return
        self.table[account] = after.to_json()
        metrics.EXECUTION_ERRORS.labels(str(value["reason"])).inc()
        if tripped:
            log.warning(
                "%s: %d execution errors within %d min: asking the ESS for REDUCING",
                account,
                ERROR_THRESHOLD,
                ERROR_WINDOW_MS // 60_000,
            )
            await self.ess.send(key=f"account:{account}".encode(), value=reduce_command(value))


def reduce_command(failure: dict[str, Any]) -> dict[str, Any]:
    """The ESS command a tripping execution error sends: REDUCE its account, caused by it.
    Its time is the error's, so a replayed error yields the very same record."""
    env = failure["envelope"]
    cause = str(env["event_id"])
    command_id = derived_id("ess.command", cause)
    return {
        "envelope": envelope(
            PRODUCER,
            int(env["event_time"]),
            event_id=command_id,
            correlation_id=env.get("correlation_id"),
            causation_id=cause,
        ),
        "command_id": command_id,
        "scope": f"account:{failure['account_id']}",
        "kind": EssCommandKind.REDUCE.value,
        "trigger": EssTrigger.EXECUTION_ERRORS.value,
        "expected_version": None,
        "by": PRODUCER,
        "reason": (
            f"{ERROR_THRESHOLD} execution errors within {ERROR_WINDOW_MS // 60_000} min; "
            f"latest: order {failure['order_id']} {failure['reason']} ({failure['detail']})"
        ),
        "cause_event_id": cause,
    }
