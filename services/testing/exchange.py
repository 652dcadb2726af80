"""Running the paper exchange (``hfos exchange run``) in a child process for tests, and
reading its output the way its consumers must: ``read_committed``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Message

from services.bus.consumer import headers_of
from services.bus.polling import take
from services.cli.exchange import READY
from services.testing.kafka import RawRecord
from services.testing.workers import stop_worker


def start_exchange(
    env: Mapping[str, str], accounts: Sequence[str], log: Path, *args: str
) -> subprocess.Popen[bytes]:
    """``hfos exchange run`` funding ``accounts``; returns once it logged that it is ready
    (its book rebuilt, its inputs subscribed), or raises with the tail of its log."""
    argv = [sys.executable, "-m", "services.cli.main", "exchange", "run", "--loglevel", "info"]
    for account in accounts:
        argv += ["--account", account]
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*argv, *args], env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
    wait_for_log(log, READY, process, offset)
    return process


@contextmanager
def running_exchange(
    env: Mapping[str, str], accounts: Sequence[str], log: Path, *args: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = start_exchange(env, accounts, log, *args)
    try:
        yield process
    finally:
        stop_worker(process)


def wait_for_log(
    log: Path, text: str, process: subprocess.Popen[bytes], offset: int = 0, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace")[offset:]:
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:]
    raise AssertionError(f"exchange not ready (exit {process.poll()}):\n{tail}")


def read_committed(
    client_config: Mapping[str, str], topic: str, expected: int, timeout: float = 30.0
) -> list[RawRecord]:
    """``topic`` from the beginning, committed records only, until ``expected`` records and
    the end of every partition (so a test sees any record beyond those it expects)."""
    consumer = Consumer(
        {
            **client_config,
            "group.id": f"read-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    records: list[RawRecord] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for message in take(consumer, 1000, 0.2):
                error = message.error()
                if error is None:
                    records.append(_record(message))
                    at_end.discard(int(message.partition() or 0))
                elif error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(int(message.partition() or 0))
                else:
                    raise RuntimeError(error.str())
            assigned = {tp.partition for tp in consumer.assignment()}
            if len(records) >= expected and assigned and at_end >= assigned:
                break
    finally:
        consumer.close()
    return records


def _record(message: Message) -> RawRecord:
    return RawRecord(
        topic=str(message.topic()),
        partition=int(message.partition() or 0),
        offset=int(message.offset() or 0),
        key=message.key(),
        value=message.value(),
        headers=headers_of(message),
    )
