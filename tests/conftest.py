"""Suite-wide fixtures: the real servers, and names unique to this run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.testing import Servers, servers, unique_name


@pytest.fixture(scope="session")
def stack() -> Iterator[Servers]:
    """Real Kafka, schema registry and Redis (environment, Docker, or the local stack)."""
    with servers() as found:
        yield found


@pytest.fixture
def local_stack(stack: Servers) -> Servers:
    """The servers, when this suite controls them and may kill and restart them."""
    if stack.local is None:
        pytest.skip("needs the local stack: servers came from the environment or Docker")
    return stack


@pytest.fixture
def topic_name() -> str:
    """A topic name no other test or run uses."""
    return unique_name("test")
