"""The container image builds here without Docker (scripts/image: debootstrap base,
buildah), ``hfos --help`` runs in it as uid 10001, and the stream worker runs with the
root filesystem read-only until its /readyz answers 200 against the real servers."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from services.testing import Servers
from tests.deploy.conftest import ROOT

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]


@pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and buildah's vfs store need root")
def test_image_when_built_then_help_runs_and_worker_ready_on_read_only_root(
    stack: Servers,
) -> None:
    assert shutil.which("unshare"), "util-linux unshare is needed"
    done = subprocess.run(
        [str(ROOT / "scripts" / "image")],
        env={**os.environ, **stack.environ()},
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "hfos: the real-time control plane" in output  # --help, inside the image
    assert "as uid 10001:10001" in output
    assert "hfos, version 0.1.0" in output  # with a read-only root
    assert "read-only worker ready (/readyz 200)" in output
