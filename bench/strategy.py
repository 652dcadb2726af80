"""Strategy-switch propagation and executor throughput, on the real stack.

The executor runs as its own process (``hfos executor run``), as in production; this
process is the operator, the control plane (heartbeats) and the strategies.

1. Switch propagation: while signals stream in (one every ``--signal-every-ms``), this
   process produces ``--switches`` ``strategy.switched`` events, one at a time. For each,
   latency = the decision time of the first decision made under that switch (the
   executor's ``envelope.event_time``, ms resolution, same host clock) - the time the
   switch was handed to the producer. Includes the wait for the next signal (up to
   ``--signal-every-ms``).
2. Throughput: ``--signals`` signals are produced as fast as possible; decisions per
   second = signals / (last decision time - first decision time). The signals are BUYs on
   20 accounts, so they run every gate: the first per account is accepted, the rest are
   refused with SYMBOL_COOLDOWN, each in a Kafka transaction with its batch.

    python -m bench.strategy [--switches 200] [--signals 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient

from bench.common import emit, latency_summary, servers
from schemas.catalogue import TRADE_SIGNAL
from schemas.contracts import contract
from schemas.enums import StrategyName
from schemas.serde import AvroSerde
from services.bus.producer import EventProducer
from services.testing.desk import Desk, start_executor_process

_CYCLE = (StrategyName.CONSERVATIVE, StrategyName.AGGRESSIVE, StrategyName.DEFENSIVE)


def _propagation(desk: Desk, switches: int, every_ms: float) -> list[float]:
    stop = threading.Event()

    def stream() -> None:
        target = contract(TRADE_SIGNAL, desk.names)
        n = 0
        while not stop.is_set():
            account = f"p{n % 10}"
            desk.producer.send(target, account, desk.signal_record(account, "BTC", "CLOSE"))
            desk.producer.poll(0)
            n += 1
            time.sleep(every_ms / 1000)

    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    sent_at: dict[int, float] = {}
    first: dict[int, int] = {}
    reader = desk.reader
    try:
        for version in range(1, switches + 1):
            sent_at[version] = time.time() * 1000
            desk.switch(_CYCLE[version % len(_CYCLE)], version)
            deadline = time.monotonic() + 10
            while version not in first and time.monotonic() < deadline:
                for decision in reader.poll(0.01):
                    used = decision.get("strategy_version")
                    if used is not None and used not in first:
                        first[used] = int(decision["envelope"]["event_time"])
            if version not in first:
                raise SystemExit(f"no decision under switch {version} within 10 s")
    finally:
        stop.set()
        streamer.join(5)
    return [max(0.0, first[v] - sent_at[v]) for v in range(1, switches + 1)]


def _throughput(desk: Desk, signals: int) -> dict[str, Any]:
    accounts = [f"t{i}" for i in range(20)]
    for account in accounts:
        desk.balance(account, 10_000.0)
    # Drain what the first part left, then count only this part's decisions.
    reader = desk.reader
    while reader.poll(0.5):
        pass
    target = contract(TRADE_SIGNAL, desk.names)
    for n in range(signals):
        account = accounts[n % len(accounts)]
        desk.producer.send(target, account, desk.signal_record(account, "BTC", "BUY"))
    desk.producer.flush(60)
    times: list[int] = []
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + 300
    while len(times) < signals and time.monotonic() < deadline:
        for decision in reader.poll(0.2):
            if decision["account_id"].startswith("t"):
                times.append(int(decision["envelope"]["event_time"]))
                outcomes[decision["outcome"]] = outcomes.get(decision["outcome"], 0) + 1
    if len(times) < signals:
        raise SystemExit(f"only {len(times)} of {signals} signals decided within 300 s")
    seconds = max(1, max(times) - min(times)) / 1000
    return {
        "signals": signals,
        "decisions_per_second": round(signals / seconds),
        "outcomes": outcomes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--switches", type=int, default=200)
    parser.add_argument("--signals", type=int, default=20_000)
    parser.add_argument("--signal-every-ms", type=float, default=2.0)
    args = parser.parse_args()
    found = servers()
    serde = AvroSerde(SchemaRegistryClient({"url": found.registry}))
    producer = EventProducer(
        {"bootstrap.servers": found.kafka}, serde, service="bench", extra_config={"linger.ms": 0}
    )
    desk = Desk(found.kafka, serde, producer)
    desk.ready_market([f"p{i}" for i in range(10)], ["BTC"])
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "executor.log"
        executor = start_executor_process(found.environ(), desk, log, "bench")
        try:
            warm = desk.signal("p0", "BTC", "CLOSE")
            if warm not in desk.decisions(1, timeout=60):
                raise SystemExit(log.read_text()[-3000:])
            latencies = _propagation(desk, args.switches, args.signal_every_ms)
            throughput = _throughput(desk, args.signals)
        finally:
            executor.terminate()
            executor.wait(30)
            desk.close()
    emit(
        {
            "benchmark": "strategy",
            "switches": args.switches,
            "signal_every_ms": args.signal_every_ms,
            "switch_to_first_decision_ms": latency_summary(latencies, digits=1),
            "target_p99_ms": 100,
            **throughput,
        }
    )


if __name__ == "__main__":
    main()
