"""The local stack's ports: outside the range the kernel takes outgoing ports from."""

from __future__ import annotations

import socket

from services.localstack import stack


def test_server_ports_when_drawn_then_free_distinct_and_outside_the_ephemeral_range() -> None:
    ephemeral = stack._ephemeral_range()

    first = stack.server_ports(2)
    second = stack.server_ports(2)

    ports = [*first, *second]
    assert len(set(ports)) == 4
    assert all(p not in ephemeral and p in stack.SERVER_PORTS for p in ports)
    assert all(stack._port_free(p) for p in ports)


def test_server_ports_when_ephemeral_range_covers_part_of_the_pool_then_avoided() -> None:
    ports = stack.server_ports(3, ephemeral=range(20_000, 32_000))
    assert all(32_000 <= p < 32_768 for p in ports)


def test_port_when_a_client_connects_to_its_dead_server_from_that_port_then_it_is_taken() -> None:
    """Why: a client retrying a dead server's port can be given that very port as its own
    (here forced with bind); TCP then connects the socket to itself and holds the port, so
    the server cannot start again on it. Ports outside the ephemeral range are never given
    to outgoing connections."""
    (port,) = stack.server_ports(1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        client.bind(("127.0.0.1", port))
        client.connect(("127.0.0.1", port))  # simultaneous open with itself
        assert client.getpeername() == client.getsockname()
        assert not stack._port_free(port)
