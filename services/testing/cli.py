"""Running ``hfos`` through its real entry point (``services.cli.main:main``) in-process.

What an operator's shell sees: the exit status, stdout and stderr, with the error handling
of ``main`` (one line per error, no traceback for an hfos error) — and, unlike
``CliRunner.invoke``, an exception ``main`` lets through is raised here, so a test sees
any traceback an operator would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from click.testing import CliRunner

from services.cli.main import main


@dataclass(frozen=True)
class CliRun:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(argv: Sequence[str], env: Mapping[str, str], stdin: str | None = None) -> CliRun:
    """``hfos *argv`` with ``env`` added to the environment."""
    runner = CliRunner(mix_stderr=False)
    code = 0
    with runner.isolation(input=stdin, env=dict(env)) as (out, err):
        try:
            main(list(argv))
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        stdout = out.getvalue().decode(errors="backslashreplace")
        stderr = err.getvalue().decode(errors="backslashreplace") if err is not None else ""
    return CliRun(tuple(argv), code, stdout, stderr)
