"""``hfos stack`` up/status/down on a second, private stack: idempotent, clean, and clear
about which part failed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.localstack import process
from services.localstack.exceptions import StackError
from services.localstack.paths import StackPaths
from services.localstack.stack import LocalStack
from services.localstack.state import PartState, StackState
from services.testing import Servers

pytestmark = [pytest.mark.stack, pytest.mark.localstack]


@pytest.fixture
def private_stack(local_stack: Servers, tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own (own ports and data dir), sharing only the download cache."""
    assert local_stack.local is not None
    stack = LocalStack(StackPaths(cache=local_stack.local.paths.cache, data=tmp_path / "stack"))
    yield stack
    stack.down(purge=True)


@pytest.mark.timeout(300)
def test_up_twice_then_down_when_stack_healthy_then_same_pids_and_no_process_left(
    private_stack: LocalStack,
) -> None:
    first = private_stack.up()
    second = private_stack.up()
    pids = {name: part.pid for name, part in first.parts.items()}

    assert {name: part.pid for name, part in second.parts.items()} == pids
    assert all(status.healthy for status in private_stack.status())

    private_stack.down()

    for name, pid in pids.items():
        part = private_stack.part(name)
        assert not process.is_running(pid, part.marker), f"{name} still running"
    assert not any(status.running for status in private_stack.status())


def test_up_when_a_port_is_taken_then_error_names_the_part(private_stack: LocalStack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        state = StackState(parts={"redis": PartState(address="", ports=[port])})
        state.save(private_stack.paths.state_file)
        redis = private_stack.part("redis")

        with pytest.raises(StackError) as raised:  # after the 10 s grace for exiting servers
            private_stack._spawn(redis)

    assert raised.value.part == "redis"
    assert str(port) in str(raised.value)


def test_part_when_name_unknown_then_error_lists_known_parts(private_stack: LocalStack) -> None:
    with pytest.raises(StackError, match="kafka, registry, redis"):
        private_stack.part("zookeeper")
