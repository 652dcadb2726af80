"""Artifacts by URI: fetched, verified by digest and format before onnxruntime sees them,
and never unpickled (SPEC §6)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from schemas.enums import ModelLoadError
from services.models.artifact import Artifact, fetch, fetch_verified, sha256_hex
from services.models.exceptions import (
    DigestMismatchError,
    FetchFailedError,
    InvalidArtifactError,
    UnsupportedFormatError,
)
from services.models.runtime import exit_model, session_of
from services.testing.models import built_model, http_server, pickle_bomb
from streams.monitor.features import FEATURE_COUNT

pytestmark = pytest.mark.timeout(120)


def test_fetch_when_file_uri_then_verified_bytes_load_as_an_exit_model() -> None:
    built = built_model("exit-model", "1")
    artifact = fetch_verified(built.uri, built.sha256, "ONNX")
    model = exit_model("exit-model", "1", artifact, FEATURE_COUNT)
    scores = model.predict(np.zeros((3, FEATURE_COUNT), dtype=np.float32))
    assert scores.shape == (3,)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_fetch_when_http_uri_then_same_bytes_as_the_file(tmp_path: Path) -> None:
    built = built_model("exit-model", "1")
    shutil.copy(built.path, tmp_path / "m.onnx")
    with http_server(tmp_path) as base:
        artifact = fetch_verified(f"{base}/m.onnx", built.sha256, "ONNX")
    assert artifact.data == built.path.read_bytes()


def test_fetch_when_http_answers_404_then_fetch_failed(tmp_path: Path) -> None:
    with http_server(tmp_path) as base, pytest.raises(FetchFailedError) as raised:
        fetch(f"{base}/missing.onnx")
    assert raised.value.kind is ModelLoadError.FETCH_FAILED


def test_fetch_when_nothing_listens_then_fetch_failed_within_the_timeout() -> None:
    with pytest.raises(FetchFailedError):
        fetch("http://127.0.0.1:9/model.onnx", timeout=2.0)


def test_fetch_when_http_server_too_slow_then_fetch_failed(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(built_model("exit-model", "1").path.read_bytes())
    with http_server(tmp_path, delay_seconds=3.0) as base, pytest.raises(FetchFailedError):
        fetch(f"{base}/m.onnx", timeout=1.0)


def test_fetch_when_file_missing_then_fetch_failed(tmp_path: Path) -> None:
    with pytest.raises(FetchFailedError):
        fetch((tmp_path / "nope.onnx").as_uri())


@pytest.mark.parametrize(
    ("uri", "problem"),
    [("/tmp/model.onnx", "not a URI"), ("ftp://host/model.onnx", "scheme 'ftp'")],  # noqa: S108
)
def test_fetch_when_uri_unusable_then_refused_saying_why(uri: str, problem: str) -> None:
    with pytest.raises(FetchFailedError, match=problem):
        fetch(uri)


def test_fetch_when_larger_than_the_limit_then_fetch_failed(tmp_path: Path) -> None:
    big = tmp_path / "big.onnx"
    big.write_bytes(b"\x08" * 2048)
    with pytest.raises(FetchFailedError, match="larger than 1024"):
        fetch(big.as_uri(), max_bytes=1024)


def test_fetch_verified_when_bytes_changed_after_promotion_then_digest_mismatch(
    tmp_path: Path,
) -> None:
    built = built_model("exit-model", "1")
    changed = tmp_path / "m.onnx"
    changed.write_bytes(built.path.read_bytes() + b"\x00")
    with pytest.raises(DigestMismatchError) as raised:
        fetch_verified(changed.as_uri(), built.sha256, "ONNX")
    assert raised.value.expected == built.sha256
    assert raised.value.kind is ModelLoadError.DIGEST_MISMATCH


def test_pickle_bomb_when_unpickled_then_its_file_appears(tmp_path: Path) -> None:
    """The control for the tests below: the bomb is live, so a file absent after a refusal
    proves nothing unpickled it (our own bytes, unpickled here on purpose)."""
    target = tmp_path / "pwned"
    path, _digest = pickle_bomb(tmp_path, target)
    pickle.loads(path.read_bytes())  # noqa: S301 - the payload under test is ours
    assert target.exists()


def test_fetch_verified_when_pickle_then_unsupported_and_its_payload_never_runs(
    tmp_path: Path,
) -> None:
    """The pickle would create a file if unpickled; refused, and the file never appears."""
    target = tmp_path / "pwned"
    path, digest = pickle_bomb(tmp_path, target)
    with pytest.raises(UnsupportedFormatError, match="pickle") as raised:
        fetch_verified(path.as_uri(), digest, "ONNX")
    assert raised.value.kind is ModelLoadError.UNSUPPORTED_FORMAT
    assert not target.exists()


def test_session_when_given_a_pickle_directly_then_refused_and_nothing_runs(tmp_path: Path) -> None:
    """Even past the format check, onnxruntime parses protobuf only: no code runs."""
    target = tmp_path / "pwned"
    path, digest = pickle_bomb(tmp_path, target)
    with pytest.raises(InvalidArtifactError):
        session_of(Artifact(path.as_uri(), digest, path.read_bytes()))
    assert not target.exists()


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"PK\x03\x04rest", "zip"),
        (b'{"weights": [1, 2]}', "JSON"),
        (b"\x89HDF\r\n", "HDF5"),
        (b"\x00\x01\x02", "first byte 0x00"),
    ],
)
def test_fetch_verified_when_other_format_then_unsupported_naming_it(
    tmp_path: Path, data: bytes, named: str
) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormatError, match=named):
        fetch_verified(path.as_uri(), sha256_hex(data), "ONNX")


def test_fetch_verified_when_declared_format_not_onnx_then_unsupported_before_fetching() -> None:
    with pytest.raises(UnsupportedFormatError, match="JSON_LINEAR"):
        fetch_verified("http://127.0.0.1:9/never-fetched", "0" * 64, "JSON_LINEAR")


def test_session_when_bytes_are_not_a_valid_graph_then_invalid_artifact(tmp_path: Path) -> None:
    data = b"\x08\x07" + b"\xff" * 40
    with pytest.raises(InvalidArtifactError, match="onnxruntime refused"):
        session_of(Artifact("file:///x", sha256_hex(data), data))


def test_exit_model_when_feature_count_differs_then_invalid_artifact() -> None:
    built = built_model("exit-model", "1")
    artifact = fetch_verified(built.uri, built.sha256, "ONNX")
    with pytest.raises(InvalidArtifactError, match="takes 5 features"):
        exit_model("exit-model", "1", artifact, FEATURE_COUNT + 1)
