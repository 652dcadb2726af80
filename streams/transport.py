"""Faust's aiokafka transport with a short fetch wait, reading committed records only,
and handing the worker's control topics over before anything else.

Faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500``. aiokafka leaves a
partition whose records are still being processed out of the next fetch request; when
that request then long-polls the other partitions, the partition's next record waits for
it — measured here as ~710 ms spikes between a policy command and its effect. 20 ms bounds
that wait; the price is an idle fetch every 20 ms per worker, which a broker answers
without touching the disk.

aiokafka holds a partition's fetched records until the application takes them and does
not fetch that partition again meanwhile; Faust takes them only between batches, and a
batch was unbounded: after a restart behind a backlog, one ``getmany`` handed the worker
every record held for every partition (~20 000 account updates, 20+ s of breaker work)
while an ``ess.command`` fetched a moment later waited behind all of them — the
"stall after restarts" of issue 11, which the watchdog then turned into a restart loop.
Batches are now bounded (``streams.app``: ``broker_max_poll_records``) and fair: each
partition holding records gives an equal share of every batch, the control topics'
(:attr:`~streams.app.HfosApp.urgent_topics`: ESS and policy commands, policy versions)
first — so no partition waits more than one batch for its turn.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver

FETCH_MAX_WAIT_MS = 20
DEFAULT_BATCH = 500
"""A batch's size when Faust sets no ``broker_max_poll_records`` (hfos sets it: streams.app)."""


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[Any],
        timeout: float | None = None,  # noqa: ASYNC109 - Faust's signature, overridden
        max_records: int | None = None,
    ) -> Any:
        """Faust's fetch, fair: every partition holding records gives an equal share of
        the batch, the urgent ones first; only when none holds any, wait for a fetch."""
        fetcher = consumer._fetcher
        held = [tp for tp in list(fetcher._records) if tp in active_partitions]
        if not held or not self.consumer.flow_active:
            return await super()._fetch_records(consumer, active_partitions, timeout, max_records)
        urgent_topics: frozenset[str] = getattr(self.consumer.app, "urgent_topics", frozenset())
        held.sort(key=lambda tp: tp.topic not in urgent_topics)
        quota = max(1, (max_records or DEFAULT_BATCH) // len(held))
        batch: dict[Any, Any] = {}
        for tp in held:
            # One partition per call: aiokafka drains the partitions it is given front
            # first, so a single call lets the first partition's records fill the batch.
            batch.update(await super()._fetch_records(consumer, {tp}, 0, quota))
        return batch

    async def seek_to_committed(self) -> Any:
        """Faust's seek to the committed offsets, and to the beginning for partitions that
        have none.

        Faust seeks every assigned partition to its committed offset after a rebalance,
        to re-read whatever it fetched and then dropped while the rebalance paused the
        partition. aiokafka's ``seek_to_committed`` skips a partition without a committed
        offset (and one committed at 0): its position stays past the dropped records,
        which are never read again — a fresh worker on records nobody had committed yet
        sat "ready" with the partition caught up in its eyes and its records unread (1
        run in 3 of the breaker's delivery-order test). Such a partition starts over
        from its beginning, as ``auto_offset_reset=earliest`` says it should.
        """
        return await self.call_thread(self._seek_to_committed_or_beginning)

    async def _seek_to_committed_or_beginning(self) -> Any:
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        fresh = [tp for tp, offset in committed.items() if not offset]
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        return committed

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
        # The paper exchange (and any venue adapter) writes in Kafka transactions: an
        # aborted batch must never reach the breaker. Faust asks for read_committed only
        # under exactly_once, which hfos does not use (STACK.md).
        consumer._isolation_level = "read_committed"
        # Static membership (KIP-345): a worker restarted under the same instance takes
        # its partitions back without a rebalance, instead of waiting out the killed
        # process's session (10 s) — in a restart storm no worker ever became healthy
        # between kills. Read by the consumer when it starts.
        consumer._group_instance_id = getattr(self.consumer.app, "instance_id", None)
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    """Registered as the ``hfos://`` broker scheme (pyproject entry point)."""

    Consumer = _Consumer
