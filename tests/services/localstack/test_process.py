"""Telling a dead server process from a live one, whoever reaps it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from services.localstack import process


def _zombie_of(child: subprocess.Popen[bytes]) -> None:
    """Wait until ``child`` has exited but is not reaped yet (a zombie)."""
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 10
    while process._state(stat.read_text()) != "Z":
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.01)


def test_dead_when_exited_but_not_yet_reaped_then_dead() -> None:
    """A killed server adopted by init stays a zombie until init reaps it (every ~1.5 s
    here); its sockets are already closed, so waiting for the reaper only gave a
    supervisor time to start it again on the port a test meant to hold."""
    child = subprocess.Popen(["true"])
    try:
        _zombie_of(child)

        assert Path(f"/proc/{child.pid}").exists()
        assert process._dead(child.pid)
    finally:
        child.wait()


def test_dead_when_running_then_not_dead() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert not process._dead(child.pid)
    finally:
        child.kill()
        child.wait()
