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

Faust's delivery loop is replaced (:meth:`_Consumer._drain_messages`): a fetched batch
goes to the agents in one task instead of one record per turn of the event loop, and no
record is lost between Faust's seek to the committed offsets and its clearing of the
agents' queues during a rebalance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import TopicPartition as AIOTopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as driver

FETCH_MAX_WAIT_MS = 20
YIELD_EVERY = 100
"""Records delivered between two turns of the event loop (Faust's figure)."""
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
        from its beginning, as ``auto_offset_reset=earliest`` says it should; a table's
        changelog is never committed and is positioned by Faust's recovery, so it is
        left where it is.
        """
        return await self.call_thread(self._seek_to_committed_or_beginning)

    async def _seek_to_committed_or_beginning(self) -> Any:
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        changelogs = self.consumer.app.tables.changelog_topics
        fresh = [
            tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs
        ]
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        return committed

    def verify_event_path(self, now: float, tp: Any) -> None:
        """Faust's livelock check of one partition, skipped while the partition has no
        position: Faust reads aiokafka's ``position``, which asserts there is one, and a
        partition sought to its beginning (:meth:`seek_to_committed`) has none until the
        fetcher resets it. The check, run every 7 s outside rebalances, then crashed the
        consumer and ended the worker (two of three workers exited at start, one CI run).
        A partition being positioned has no event path to verify yet."""
        subscription = self._ensure_consumer()._fetcher._subscriptions.subscription
        assignment = None if subscription is None else subscription.assignment
        state = (
            assignment.state_value(AIOTopicPartition(tp.topic, tp.partition))
            if assignment
            else None
        )
        if state is not None and not state.has_valid_position:
            return None
        return super().verify_event_path(now, tp)

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


class _ClearWitness:
    """Stands among the app's flow-controlled queues to be told when Faust clears them."""

    def __init__(self, on_clear: Callable[[], None]) -> None:
        self.clear = on_clear


class _Consumer(driver.Consumer):
    _seeks = 0
    """Seeks begun plus seeks ended: odd while one is in progress."""
    _delivered = False
    """Records handed to the agents' queues since the last seek ended."""
    _reread = False
    """Records were fetched and not handed over, or handed over and then cleared away:
    seek to the committed offsets before delivering anything more."""
    _witness: _ClearWitness | None = None

    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        self._seeks += 1
        try:
            await super().perform_seek()
        finally:
            self._seeks += 1
        self._delivered = False

    def _on_queues_cleared(self) -> None:
        if self._delivered:
            self._reread = True

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's delivery loop (fetch a batch, hand each record to the agents' queues),
        racing the flow's suspension once per batch instead of once per record, and
        never losing a record between a seek and the queues' clearing.

        Faust 0.15.3 awaits ``wait_first(callback(message), suspend_flow.wait())`` for
        every record: four tasks and an ``asyncio.wait`` each, and a turn of the event
        loop between any two records, so an agent never found a second record waiting and
        the breaker's batches were one event long (profiled: 10 338 records, 10 366
        resumptions of this loop, 11 151 breaker batches). Here a fetched batch is
        delivered by one task, raced against the suspension (a rebalance) as a whole.

        The fetch itself is never raced: it runs in the consumer thread, and cancelling
        the wait for it does not cancel it — its records would be fetched, the position
        moved past them, and the records thrown away. Awaiting it also blocks while the
        flow is stopped (``getmany`` waits for it) instead of spinning.

        A record is lost for good when it is fetched and not delivered, or delivered and
        then cleared from the agent's queue, and no seek follows to read it again. Faust
        relies on the seek of every rebalance, but its recovery resumes the stream
        partitions *before* that seek and clears the queues *after* it, so records
        fetched around the seek are delivered and then cleared, or overwrite the read
        offsets the seek set (seen: a partition fetched to 1700, read offset 682,
        committed 1348, 292 records in no queue, the worker idle and the watchdog
        exiting on the stall; 2 runs in 4 of the three-worker scale-out tests with
        whole batches delivered at once, a one-record window with Faust's loop). So:
        a stream record whose fetch began before a seek ended is not delivered; records
        not delivered, and records delivered since the last seek when the queues are
        cleared, make this loop seek to the committed offsets before its next fetch
        (a record may then come twice: the agents are idempotent by design). Changelog
        records are the recovery's, positioned by it and never by this seek: they are
        always delivered (dropping one stalled the recovery for good).
        """
        if self._witness is None:
            self._witness = _ClearWitness(self._on_queues_cleared)
            self.app.flow_control.manage_queue(self._witness)  # type: ignore[arg-type]
        should_stop, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (should_stop() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                await self._fetch_and_deliver()
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _fetch_and_deliver(self) -> None:
        if self._reread and self.flow_active and not self._seeks % 2:
            self._reread = False
            self.log.info("reading again from the committed offsets (records lost to a seek)")
            try:
                await self.perform_seek()
            except Exception as error:  # noqa: BLE001 - as Faust's own seek in getmany
                self.log.warning("seek to the committed offsets failed, retrying: %r", error)
                self._reread = True
                await self.sleep(0.1)
                return
        epoch = self._seeks
        records: Any = self.getmany(timeout=1.0)
        await self.sleep(0)
        if not self.should_stop:
            first = await anext(records, None)
            if first is not None:
                delivery = self._deliver(epoch, first, records)
                outcome = await self.wait_first(delivery, self.suspend_flow.wait())
                if delivery not in outcome.done:
                    self._reread = True  # the flow stopped mid-batch
        await records.aclose()

    async def _deliver(self, epoch: int, first: tuple[Any, Any], rest: Any) -> None:
        """One fetched batch to the agents' queues, in order, with Faust's bookkeeping.
        After the first record, ``rest`` only walks records already in memory."""
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        changelogs = self.app.tables.changelog_topics
        since_yield = 0
        tp, message = first
        while True:
            since_yield += 1
            if since_yield > YIELD_EVERY:
                await asyncio.sleep(0)
                since_yield = 0
            offset, last = message.offset, read_offset[tp]
            if tp.topic not in changelogs and (self._seeks != epoch or self._reread):
                # A stream record fetched across a seek: read again after the next one.
                # (A changelog's position is the recovery's, which no such seek moves.)
                self._reread = True
            elif last is None or offset >= last:  # else read before (Faust drops it too)
                if last and offset - last > 1 and acks_enabled_for(message.topic):
                    await self._add_gap(tp, last + 1, offset)
                if self._commit_every is not None and self._n_acked >= self._commit_every:
                    self._n_acked = 0
                    await self.commit()
                self._delivered = True
                await self.callback(message)
                read_offset[tp] = offset
            following = await anext(rest, None)
            if following is None:
                return
            tp, message = following


class Transport(driver.Transport):
    """Registered as the ``hfos://`` broker scheme (pyproject entry point)."""

    Consumer = _Consumer
