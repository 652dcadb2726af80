"""``hfos model promote`` refuses a bad promotion before anything is published, with the
typed error naming what is wrong (the artifact is verified as a consumer would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from services.cli.main import cli
from services.models.exceptions import (
    DigestMismatchError,
    FetchFailedError,
    InvalidPromotionError,
    UnsupportedFormatError,
)
from services.testing.models import built_model, pickle_bomb

pytestmark = pytest.mark.timeout(120)
# No server is reachable here: a refusal must come before anything is read or sent.
OFFLINE = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "SCHEMA_REGISTRY_URL": "http://127.0.0.1:9",
    "REDIS_URL": "redis://127.0.0.1:9/0",
}


def promote(uri: str, sha256: str, *extra: str, version: str = "2") -> Result:
    args = ["model", "promote", "exit-model", "--version", version, "--uri", uri]
    args += ["--sha256", sha256, "--by", "alice", "--reason", "test", *extra]
    return CliRunner().invoke(cli, args, env=OFFLINE)


def test_promote_when_digest_differs_then_digest_mismatch_naming_both() -> None:
    v2 = built_model("exit-model", "2")
    result = promote(v2.uri, "a" * 64)
    assert isinstance(result.exception, DigestMismatchError)
    assert v2.sha256 in str(result.exception)


def test_promote_when_uri_unreachable_then_fetch_failed(tmp_path: Path) -> None:
    result = promote((tmp_path / "gone.onnx").as_uri(), "a" * 64)
    assert isinstance(result.exception, FetchFailedError)


def test_promote_when_pickle_then_unsupported_format_and_nothing_unpickled(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    path, digest = pickle_bomb(tmp_path, target)
    result = promote(path.as_uri(), digest)
    assert isinstance(result.exception, UnsupportedFormatError)
    assert "pickle" in str(result.exception)
    assert not target.exists()


@pytest.mark.parametrize(
    ("extra", "version", "sha", "field"),
    [
        ((), "2", "ABC", "--sha256"),
        ((), "two words", None, "--version"),
        (("--metric", "accuracy=nan"), "2", None, "--metric"),
        (("--metric", "accuracy"), "2", None, "--metric"),
    ],
)
def test_promote_when_an_argument_is_bad_then_refused_naming_it(
    extra: tuple[str, ...], version: str, sha: str | None, field: str
) -> None:
    v2 = built_model("exit-model", "2")
    result = promote(v2.uri, sha or v2.sha256, *extra, version=version)
    assert isinstance(result.exception, InvalidPromotionError)
    assert result.exception.field == field


def test_help_when_run_then_no_model_library_is_imported() -> None:
    """`hfos --help` (and every other command) starts without onnxruntime, numpy,
    scikit-learn or fsspec: the model commands import them when they run."""
    code = (
        "import sys; from services.cli.main import cli; "
        "print(sorted(m for m in ('onnxruntime', 'numpy', 'sklearn', 'skl2onnx', 'fsspec') "
        "if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
