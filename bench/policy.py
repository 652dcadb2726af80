"""Policy propagation and Redis resync, on the real stack with a real stream worker.

1. Propagation: this process produces ``--changes`` changes of the active profile as the
   ``policy.command`` records ``hfos policy set`` sends (after its validation, which
   happens before anything is sent); a reader in another process polls
   ``PolicyStore.active()`` and reports when it first returns each new version.
   Latency = first seen - produced; one change at a time.
2. Resync: Redis is SIGKILLed and started again ``--restarts`` times; the time is from
   the call that starts Redis again (so it includes Redis's own start, ~10 ms) to the
   cache holding the current version of the active profile.

    python -m bench.policy [--changes 200] [--restarts 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, latency_summary, servers
from schemas.catalogue import POLICY_COMMAND, TopicNames
from schemas.contracts import contract
from schemas.enums import PolicyCommandKind
from schemas.envelope import envelope
from schemas.keys import policy_cache_key
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.policy.store import PolicyStore
from services.policy.view import PolicyView
from services.testing import Servers
from services.testing.workers import running_worker


def _reader(found: Servers, prefix: str, ready: Any, seen: Any, stop: Any) -> None:
    """Another process: poll the store, report (version, time first seen)."""
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    view = PolicyView({"bootstrap.servers": found.kafka}, TopicNames(prefix), serde)
    view.wait_caught_up(30)
    store = PolicyStore(redis.Redis.from_url(found.redis), view, prefix, reader="bench")
    last = store.active().version.version
    ready.set()
    while not stop.is_set():
        version = store.active().version.version
        if version != last:
            seen.put((version, time.time()))
            last = version
        time.sleep(0.0005)
    view.close()


def _propagation(found: Servers, names: TopicNames, serde: AvroSerde, changes: int) -> list[float]:
    producer = EventProducer(
        {"bootstrap.servers": found.kafka}, serde, extra_config={"linger.ms": 0}
    )
    commands = contract(POLICY_COMMAND, names)
    spawn = multiprocessing.get_context("spawn")  # never fork a process running librdkafka
    ready, stop = spawn.Event(), spawn.Event()
    seen: multiprocessing.Queue[tuple[int, float]] = spawn.Queue()
    reader = spawn.Process(target=_reader, args=(found, names.prefix, ready, seen, stop))
    reader.start()
    ready.wait(60)
    view = PolicyView({"bootstrap.servers": found.kafka}, names, serde)
    view.wait_caught_up(30)
    version = view.state().versions["normal"].version
    view.close()
    latencies: list[float] = []
    for i in range(changes):
        command_id = str(uuid.uuid4())
        record = {
            "envelope": envelope("bench", int(time.time() * 1000), event_id=command_id),
            "kind": PolicyCommandKind.SET.value,
            "profile": "normal",
            "scope": "global",
            "changes": {"max_drawdown": f"{0.08 + (i % 10) / 1000:.3f}"},
            "expected_version": version,
            "by": "bench",
            "reason": "propagation",
        }
        started = time.time()  # the command is produced now: what `policy set` does last
        producer.send(commands, "normal", record)
        producer.flush(30)
        got, at = seen.get(timeout=30)
        if got != version + 1:
            raise SystemExit(f"the reader saw version {got}, expected {version + 1}")
        latencies.append((at - started) * 1000)
        version = got
    stop.set()
    reader.join(10)
    return latencies


def _resync(found: Servers, names: TopicNames, restarts: int) -> list[float]:
    if found.local is None:
        raise SystemExit("the resync measurement needs the local stack: it kills Redis")
    key = policy_cache_key(names.prefix, "profile:normal")
    cache = redis.Redis.from_url(found.redis, socket_timeout=0.5)
    current = cache.get(key)
    times = []
    for _ in range(restarts):
        found.local.kill("redis")
        back = time.monotonic()
        found.local.start("redis")
        while True:
            try:
                if cache.get(key) == current:
                    break
            except redis.RedisError:
                pass
            time.sleep(0.001)
        times.append((time.monotonic() - back) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=20)
    args = parser.parse_args()
    found = servers()
    names = TopicNames(f"bpol{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": found.kafka}), names.specs())
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    env = {**found.environ(), "HFOS_TOPIC_PREFIX": names.prefix}
    log = Path(tempfile.mkdtemp()) / "worker.log"
    with running_worker(env, f"{names.prefix}streams", log):
        view = PolicyView({"bootstrap.servers": found.kafka}, names, serde)
        deadline = time.monotonic() + 90
        while "global" not in view.state().activations and time.monotonic() < deadline:
            time.sleep(0.1)
        view.close()
        latencies = _propagation(found, names, serde, args.changes)
        resyncs = _resync(found, names, args.restarts)
    emit(
        {
            "benchmark": "policy",
            "changes": len(latencies),
            "propagation_ms": latency_summary(latencies),
            "propagation_target_p99_ms": 100,
            "redis_restarts": len(resyncs),
            "resync_ms": {
                "median": round(statistics.median(resyncs), 1),
                "max": round(max(resyncs), 1),
            },
            "resync_target_max_ms": 1000,
        }
    )


if __name__ == "__main__":
    main()
