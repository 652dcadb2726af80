"""``streams.bus.ready_batches`` on a real Faust stream (an in-process channel; nothing
here talks to a broker): what is waiting comes as one batch, and a batch held when a
rebalance clears the agents' queues is still handed over.

The rebalance is replayed at the one point where it hung a worker: after the agent saw
a next event in its queue and before it took it (Faust's stream iterator yields to the
loop there), the flow is suspended and the queues cleared, as Faust's
``_on_partitions_revoked`` does before it waits for the held events' acknowledgements."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import faust
import pytest

from streams.bus import ready_batches

pytestmark = pytest.mark.timeout(30)


class Agent:
    def __init__(self, most: int = 10) -> None:
        self.app = faust.App("ready-batches", broker="kafka://127.0.0.1:1", store="memory://")
        self.stream = self.app.channel().stream()
        self.app.flow_control.resume()
        self.queue = self.stream.channel.queue
        self.batches: list[list[bytes]] = []
        self._task = asyncio.ensure_future(self._run(most))

    async def _run(self, most: int) -> None:
        async for batch in ready_batches(self.stream, most):
            self.batches.append([event.value for event in batch])

    async def send(self, *values: bytes) -> None:
        for value in values:
            await self.stream.channel.send(value=value)

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self._task.cancel()

    def on_first_look_with_more_waiting(self, then: Callable[[], None]) -> None:
        """Call ``then`` on the loop's next turn the first time the agent finds a next
        event in its queue: inside the window between that look and the take."""
        loop, looked, calls = asyncio.get_running_loop(), self.queue.empty, []

        def empty() -> bool:
            result = looked()
            if not result and not calls:
                calls.append(then)
                loop.call_soon(then)
            return result

        self.queue.empty = empty

    def revoke(self) -> None:
        """What Faust does as a rebalance begins: suspend the flow, clear the queues."""
        self.app.flow_control.suspend()
        self.app.flow_control.clear()


async def test_ready_batches_when_events_wait_then_they_come_as_one_batch() -> None:
    agent = Agent()
    await agent.settle()
    await agent.send(b"e1", b"e2", b"e3")
    await agent.settle()
    agent.close()
    assert agent.batches == [[b"e1", b"e2", b"e3"]]


async def test_ready_batches_when_more_wait_than_a_batch_holds_then_batches_of_most() -> None:
    agent = Agent(most=2)
    await agent.settle()
    await agent.send(b"e1", b"e2", b"e3", b"e4", b"e5")
    await agent.settle()
    agent.close()
    assert agent.batches == [[b"e1", b"e2"], [b"e3", b"e4"], [b"e5"]]


async def test_ready_batches_when_a_rebalance_clears_the_queue_mid_batch_then_handed_over() -> None:
    agent = Agent()
    await agent.settle()
    agent.on_first_look_with_more_waiting(agent.revoke)
    await agent.send(b"e1", b"e2")
    await agent.settle()
    agent.close()
    # e2 was cleared by the rebalance (Faust reads it again after its seek); e1 was held.
    assert agent.batches == [[b"e1"]]
    assert not agent.app.flow_control.is_active()
