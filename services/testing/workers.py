"""Running the real stream worker (``hfos worker``) in a child process for tests.

The worker runs under a minimal supervisor, as in production (Kubernetes restarts a pod):
when it exits with :data:`~streams.watchdog.EXIT_STALLED` — its watchdog gave up on a
stalled partition — it is started again with the same arguments, and the restart is
written to its log. Any other exit is left alone for the test to see.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from streams.watchdog import EXIT_STALLED


class SupervisedWorker:
    """The current worker process, restarted on :data:`EXIT_STALLED`."""

    def __init__(self, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self._argv, self._env, self._log = argv, dict(env), log
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.restarts = 0
        self.process = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self._log.open("ab") as sink:
            return subprocess.Popen(
                self._argv, env=self._env, stdout=sink, stderr=subprocess.STDOUT
            )

    def _watch(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                current = self.process
            code = current.wait()
            with self._lock:
                if self._stopping.is_set() or code != EXIT_STALLED:
                    return
                self.restarts += 1
                with self._log.open("a") as sink:
                    sink.write(f"\n--- supervisor: worker exited {code} (stalled); restarting\n")
                self.process = self._spawn()

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def send_signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the worker for good (no restart), with ``sig`` first."""
        self._stopping.set()
        with self._lock:
            process = self.process
        stop_process(process, sig)
        self._watcher.join(10)


@contextmanager
def running_worker(env: Mapping[str, str], app_id: str, log: Path) -> Iterator[SupervisedWorker]:
    """``hfos worker`` with ``env`` (addresses, topic prefix) until the block ends."""
    argv = [
        sys.executable,
        "-m",
        "services.cli.main",
        "worker",
        "--app-id",
        app_id,
        "--loglevel",
        os.environ.get("HFOS_TEST_WORKER_LOGLEVEL", "info"),
    ]
    # A test gives up after a minute: let a stalled worker exit (and be restarted) well
    # within that, not after the production default.
    defaults = {"HFOS_WORKER_STALL_EXIT_SECONDS": "8"}
    worker = SupervisedWorker(argv, {**defaults, **os.environ, **env}, log)
    try:
        yield worker
    finally:
        worker.stop()


def stop_worker(
    worker: SupervisedWorker | subprocess.Popen[bytes], sig: int = signal.SIGTERM
) -> None:
    """Stop ``worker`` with ``sig`` (SIGKILL: as a crash would), without a restart; a plain
    child process (another service under test) is stopped the same way."""
    if isinstance(worker, SupervisedWorker):
        worker.stop(sig)
        return
    stop_process(worker, sig)


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
