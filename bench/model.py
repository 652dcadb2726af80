"""Model promotion on the real stack: promotion -> every consumer's acknowledgement, the
decisions made while models swap, and the exit model's inference cost.

A stream worker (``hfos worker``, the coordinator) and an executor (``hfos executor run``)
run as processes; the position monitor runs in a process of its own too (as ``hfos monitor
run`` does), where every decision it makes is timed (``on_decision``: from its input record
being read to the positions being scored and any CLOSE sent) and stamped with the host's
monotonic clock, which this process compares with its promotion windows. (It once ran in
this process: the promotions' own work -- encoding, producing, reading the acks -- then
shared the monitor's interpreter lock, inside the swap windows only, and was timed as the
swap's cost.) A process of its own feeds it a price tick every ``--tick-ms`` for
``--positions`` open positions on one symbol, so each tick is one decision per position.

1. ``--promotions`` promotions of new versions (each a distinct artifact, so each is
   really fetched, verified, loaded and warmed), one at a time: latency = the later of the
   two consumers' ``model.loaded`` event times - the time the promotion was handed to the
   producer (same host clock, ms resolution).
2. Decision latency: the steady-state p99 (decisions outside every swap window) beside the
   longest decision inside a swap window (promotion sent -> last ack + 100 ms).
3. Inference: one exit-model run per position, p50 over 20 000 runs, alone and in batches
   of ``--positions``.

    python -m bench.model [--promotions 20] [--positions 20] [--tick-ms 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
import uuid
from array import array
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, latency_summary, servers
from schemas.catalogue import MARKET_PRICE, MODEL_LOADED, TopicNames
from schemas.contracts import contract
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.models.artifact import fetch_verified
from services.models.runtime import exit_model
from services.monitor.service import Decision, MonitorConfig, PositionMonitor
from services.testing.desk import Desk, start_executor_process
from services.testing.models import built_model
from services.testing.workers import running_worker, stop_worker
from streams.monitor.features import FEATURE_COUNT

EXIT = "exit-model"


def _feed(kafka: str, registry: str, prefix: str, positions: int, tick_ms: float) -> None:
    """The market, in a process of its own (started by spawn): its Python work must not
    share the monitor's interpreter lock, which no feed in production does either."""
    serde = AvroSerde(SchemaRegistryClient({"url": registry}))
    producer = EventProducer({"bootstrap.servers": kafka}, serde, service="bench-feed")
    desk = Desk(kafka, serde, producer, prefix=prefix, provision_topics=())
    for i in range(positions):
        desk.position(f"b{i}", "BTC", 1.0, 100.0)
    target = contract(MARKET_PRICE, desk.names)
    step = 0
    while True:
        price = 100.0 + 0.05 * ((step % 20) - 10)
        record = {
            "envelope": {
                "event_id": str(uuid.uuid4()),
                "event_time": int(time.time() * 1000),
                "producer": "bench",
                "correlation_id": None,
                "causation_id": None,
            },
            "symbol": "BTC",
            "price": price,
        }
        producer.send(target, "BTC", record)
        producer.poll(0)
        step += 1
        time.sleep(tick_ms / 1000)


def _monitor(
    kafka: str, registry: str, prefix: str, stop: Any, out: Connection, ready: Any
) -> None:
    """The position monitor, in a process of its own (started by spawn), until ``stop`` is
    set; then sends back each decision's monotonic time and latency (ms) as two arrays."""
    serde = AvroSerde(SchemaRegistryClient({"url": registry}))
    # Two flat arrays, not a list of objects: fifty thousand kept Decision objects make the
    # garbage collector's full passes (and so the decisions they interrupt) slower.
    decided_at, decision_ms = array("d"), array("d")

    def decided(decision: Decision) -> None:
        decided_at.append(time.monotonic())
        decision_ms.append(decision.seconds * 1000)

    monitor = PositionMonitor(
        {"bootstrap.servers": kafka},
        serde,
        MonitorConfig(TopicNames(prefix), "bench", EXIT, threshold=1.0),
        on_decision=decided,
    )
    ready.set()
    monitor.run(stop.is_set)
    out.send((decided_at.tobytes(), decision_ms.tobytes()))
    out.close()


class AckReader:
    """model.loaded from the beginning: promotion id -> {consumer: event time}."""

    def __init__(self, desk: Desk) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition  # noqa: PLC0415

        self._desk = desk
        self._target = contract(MODEL_LOADED, desk.names)
        self._consumer = Consumer(
            {"bootstrap.servers": desk.kafka, "group.id": f"bench-{uuid.uuid4().hex}"}
        )
        self._consumer.assign([TopicPartition(self._target.topic, 0, OFFSET_BEGINNING)])
        self.acks: dict[str, dict[str, int]] = {}

    def wait(self, promotion_id: str, consumers: int, timeout: float = 60) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while len(self.acks.get(promotion_id, {})) < consumers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"promotion {promotion_id} not acknowledged in {timeout} s")
            for message in self._consumer.consume(100, 0.05):
                if message.error() is not None:
                    continue
                record = self._desk.serde.decode(self._target, message.value())
                cause = str(record["envelope"]["causation_id"])
                who = f"{record['service']}/{record['instance']}"
                self.acks.setdefault(cause, {})[who] = int(record["envelope"]["event_time"])
        return self.acks[promotion_id]

    def close(self) -> None:
        self._consumer.close()


def _inference(positions: int) -> dict[str, float]:
    built = built_model(EXIT, "1")
    model = exit_model(EXIT, "1", fetch_verified(built.uri, built.sha256, "ONNX"), FEATURE_COUNT)
    rng = np.random.default_rng(1)
    one = rng.normal(size=(1, FEATURE_COUNT)).astype(np.float32)
    batch = rng.normal(size=(positions, FEATURE_COUNT)).astype(np.float32)
    singles, batches = [], []
    for _ in range(20_000):
        started = time.perf_counter()
        model.predict(one)
        singles.append(time.perf_counter() - started)
    for _ in range(2_000):
        started = time.perf_counter()
        model.predict(batch)
        batches.append((time.perf_counter() - started) / positions)
    return {
        "single_p50_us": round(statistics.median(singles) * 1e6, 2),
        "single_p99_us": round(sorted(singles)[int(0.99 * len(singles))] * 1e6, 2),
        f"batch{positions}_per_position_p50_us": round(statistics.median(batches) * 1e6, 2),
    }


def main() -> None:  # noqa: PLR0915 - one benchmark, step by step
    parser = argparse.ArgumentParser()
    parser.add_argument("--promotions", type=int, default=20)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--tick-ms", type=float, default=10.0)
    args = parser.parse_args()
    found = servers()
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    producer = EventProducer({"bootstrap.servers": found.kafka}, serde, service="bench")
    desk = Desk(found.kafka, serde, producer, prefix=f"bmod{uuid.uuid4().hex[:8]}.")
    versions = [str(v) for v in range(2, args.promotions + 2)]
    for version in ["1", *versions]:
        built_model(EXIT, version)  # built before anything is timed
    logs = Path(tempfile.mkdtemp(prefix="hfos-bench-model-"))
    env = {**found.environ(), "HFOS_TOPIC_PREFIX": desk.names.prefix}
    desk.policy()
    desk.promote(EXIT, "1")
    windows: list[tuple[float, float]] = []
    ack_ms: list[float] = []
    spawn = multiprocessing.get_context("spawn")
    stop, ready = spawn.Event(), spawn.Event()
    received, sent = spawn.Pipe(duplex=False)
    with running_worker(env, f"{desk.names.prefix}streams", logs / "worker.log"):
        executor = start_executor_process(env, desk, logs / "executor.log", "bench")
        monitor = spawn.Process(
            target=_monitor,
            args=(found.kafka, found.registry, desk.names.prefix, stop, sent, ready),
            daemon=True,
        )
        feeder = spawn.Process(
            target=_feed,
            args=(found.kafka, found.registry, desk.names.prefix, args.positions, args.tick_ms),
            daemon=True,
        )
        reader = AckReader(desk)
        try:
            monitor.start()
            if not ready.wait(60):
                raise RuntimeError("the position monitor did not start in 60 s")
            desk.start_heartbeats()
            reader.wait(_latest_id(desk), consumers=2, timeout=120)
            feeder.start()
            time.sleep(3.0)  # steady state before the first promotion
            previous = built_model(EXIT, "1")
            for version in versions:
                record = desk.promote(EXIT, version, previous=previous)
                sent_ms, sent_mono = int(time.time() * 1000), time.monotonic()
                acks = reader.wait(str(record["envelope"]["event_id"]), consumers=2)
                ack_ms.append(max(acks.values()) - sent_ms)
                windows.append((sent_mono, time.monotonic() + 0.1))
                previous = built_model(EXIT, version)
                time.sleep(1.0)
            time.sleep(1.0)
        finally:
            stop.set()
            if feeder.is_alive():
                feeder.terminate()
                feeder.join(10)
            times, latencies = received.recv() if received.poll(60) else (b"", b"")
            monitor.join(30)
            reader.close()
            stop_worker(executor)
    if not times:
        raise RuntimeError(f"the position monitor sent no decisions (exit code {monitor.exitcode})")
    decided_at, decision_ms = array("d"), array("d")
    decided_at.frombytes(times)
    decision_ms.frombytes(latencies)
    # Placebo windows: as many, as long, each 0.5 s before its promotion (no swap under
    # way): the same statistic where nothing swaps, so that the machine's own noise (this
    # 2-core machine is shared) is not read as the swap's cost.
    placebo = [(a - 0.5 - (b - a), a - 0.5) for a, b in windows]

    timed = list(zip(decided_at, decision_ms, strict=True))

    def within(spans: list[tuple[float, float]]) -> list[float]:
        return [ms for at, ms in timed if any(a <= at <= b for a, b in spans)]

    swapping, quiet = within(windows), within(placebo)
    steady = [ms for at, ms in timed if not any(a <= at <= b for a, b in windows)]
    steady_p99 = latency_summary(steady, 3)["p99"]
    per_window = [round(max(within([w]), default=0.0), 3) for w in windows]
    emit(
        {
            "benchmark": "model",
            "promotions": len(ack_ms),
            "consumers": 2,
            "promotion_to_all_acks_ms": latency_summary(ack_ms, 1),
            "decisions": {"steady": len(steady), "during_swap": len(swapping)},
            "decision_ms_steady": latency_summary(steady, 3),
            "decision_ms_during_swap_max": round(max(swapping), 3),
            "decision_ms_during_swap": latency_summary(swapping, 3),
            "decision_ms_placebo_windows": latency_summary(quiet, 3),
            "swap_max_over_steady_p99": round(max(swapping) / steady_p99, 2),
            "decision_ms_max_per_swap": per_window,
            "target": "decision_ms_during_swap_max < 2 x decision_ms_steady.p99",
            "inference_us_per_position": _inference(args.positions),
            "positions": args.positions,
            "tick_ms": args.tick_ms,
        }
    )


def _latest_id(desk: Desk) -> str:
    from services.models.view import read_view  # noqa: PLC0415

    view = read_view({"bootstrap.servers": desk.kafka}, desk.serde, desk.names)
    return view.latest[EXIT].promotion_id


if __name__ == "__main__":
    main()
