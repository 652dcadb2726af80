"""Running the real stream worker (``hfos worker``) in a child process for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running_worker(
    env: Mapping[str, str], app_id: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``hfos worker`` with ``env`` (addresses, topic prefix) until the block ends."""
    with log.open("ab") as sink:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "worker",
                "--app-id",
                app_id,
                "--loglevel",
                os.environ.get("HFOS_TEST_WORKER_LOGLEVEL", "info"),
            ],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        stop_worker(worker)


def stop_worker(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        worker.send_signal(sig)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
