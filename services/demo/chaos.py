"""Scenario 5's edge to the local stack: SIGKILL a server, hold its port as a host that is
down would, ask whether it answers, and read the policy from outside the stream app the
way every other process does (``PolicyStore``: Redis first, the topics' view beside it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping

import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas.catalogue import TopicNames
from schemas.keys import policy_cache_key
from schemas.serde import AvroSerde
from services.bus.producer import LIBRDKAFKA_LOG
from services.demo.exceptions import DemoError
from services.demo.model import Facts, PolicyReadSample
from services.localstack.stack import LocalStack
from services.policy.exceptions import PolicyUnavailableError
from services.policy.store import PolicyStore
from services.policy.view import PolicyView
from streams.policy.records import active_key, profile_key

PORT_FREE_SECONDS = 10.0
"""A SIGKILLed server's listening socket is gone within milliseconds; 10 s is generous."""
_FAST = {"socket_timeout": 0.05, "socket_connect_timeout": 0.05}
"""A Redis client that fails in 50 ms, not a reader that hangs on a dead server."""


class LocalChaos:
    def __init__(
        self,
        stack: LocalStack,
        kafka: Mapping[str, str],
        redis_url: str,
        names: TopicNames,
        serde: AvroSerde,
        facts: Facts,
    ) -> None:
        self._stack, self._kafka, self._names, self._facts = stack, dict(kafka), names, facts
        self._redis = redis.Redis.from_url(redis_url, **_FAST)
        self._view = PolicyView(kafka, names, serde)
        # One client, asked again and again: it reconnects by itself when the broker is
        # back (a new client per question opened hundreds of connections a minute).
        self._admin = AdminClient(dict(self._kafka), logger=LIBRDKAFKA_LOG)
        self._held: dict[str, socket.socket] = {}
        self._reading = threading.Event()
        self._reader: threading.Thread | None = None

    def kill(self, part: str) -> None:
        self._stack.kill(part)

    def kill_holding_port(self, part: str) -> None:
        port = self._stack.state().parts[part].ports[0]
        # Not kill(): it waits until the process is reaped, which for a server an earlier
        # process started is up to its reaper (1.4-2 s here) -- the supervisor's first
        # restart comes 1.8 s after the kill and took the port first. The listening socket
        # closes when the process exits, before it is reaped: bind from then on.
        self._stack.kill(part, wait=False)
        deadline = time.monotonic() + PORT_FREE_SECONDS
        while True:
            squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                squatter.bind(("127.0.0.1", port))
            except OSError as error:
                squatter.close()
                if time.monotonic() > deadline:
                    raise DemoError(f"{part}'s port {port} stayed taken: {error}") from error
                time.sleep(0.002)
                continue
            squatter.listen(16)
            self._held[part] = squatter
            return

    def release_port(self, part: str) -> None:
        held = self._held.pop(part, None)
        if held is not None:
            held.close()

    def answers(self, part: str) -> bool:
        if part == "redis":
            try:
                return bool(self._redis.ping())
            except (redis.RedisError, OSError):
                return False
        try:
            self._admin.list_topics(timeout=1)
        except KafkaException:
            return False
        return True

    def cache_current(self) -> bool:
        """Redis holds the activation and the profile version the topics say are current
        (what the worker writes through, and resynchronises when Redis returns empty)."""
        state = self._view.state()
        activation, version = state.activations.get("global"), state.active()
        if activation is None or version is None:
            return False
        keys = [active_key("global"), profile_key(version.profile.value)]
        try:
            held = self._redis.mget([policy_cache_key(self._names.prefix, k) for k in keys])
        except (redis.RedisError, OSError):
            return False
        want = (
            f'"version": {activation.version}'.encode(),
            f'"version": {version.version}'.encode(),
        )
        return all(h is not None and w in h for h, w in zip(held, want, strict=True))

    def start_policy_reads(self, every_seconds: float) -> None:
        store = PolicyStore(self._redis, self._view, self._names.prefix, reader="hfos-demo")
        self._view.wait_caught_up(10)
        self._reading.set()

        def read() -> None:
            while self._reading.is_set():
                at = int(time.time() * 1000)
                try:
                    got = store.active()
                    sample = PolicyReadSample(at, got.source, got.version.version)
                except PolicyUnavailableError as error:
                    sample = PolicyReadSample(at, None, None, str(error))
                self._facts.policy_reads.append(sample)
                time.sleep(every_seconds)

        self._reader = threading.Thread(target=read, name="demo-policy-reads", daemon=True)
        self._reader.start()

    def stop_policy_reads(self) -> None:
        self._reading.clear()
        if self._reader is not None:
            self._reader.join(5)

    def close(self) -> None:
        self.stop_policy_reads()
        for part in list(self._held):
            self.release_port(part)
        self._view.close()
