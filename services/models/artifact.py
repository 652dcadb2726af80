"""Reading a model artifact by URI and proving it is the one promoted (SPEC §6).

Order matters: the bytes are fetched (bounded in size and time), their sha256 compared
with the promotion's, and only then looked at — a file that changed after promotion is
refused before a single byte of it is parsed. Then the format: only ONNX is loaded, and
the first bytes of the usual other formats (a Python pickle above all, whose loading runs
code) are named in the refusal. Nothing here unpickles, imports or evaluates anything.

URIs go through fsspec: ``file://`` and ``http(s)://`` work out of the box (aiohttp);
object stores take fsspec's own packages (``s3fs`` for ``s3://``, ``gcsfs`` for ``gs://``,
``adlfs`` for ``az://``), credentials from their usual environment. A bare path is
refused: a promotion is read on other hosts, where only a URI means the same thing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from schemas.enums import ModelFormat
from services.models.exceptions import (
    DigestMismatchError,
    FetchFailedError,
    UnsupportedFormatError,
)

MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
"""An exit model is a few hundred bytes, a large tree ensemble tens of MiB; anything past
64 MiB is not a model a control-plane consumer should pull into memory on a promotion."""

FETCH_TIMEOUT_SECONDS = 10.0
"""Per fetch. A consumer fetches off its hot path; the coordinator's deadline (30 s by
default) leaves room for three attempts' worth of this."""

SCHEMES = ("file", "http", "https", "s3", "gs", "gcs", "az", "abfs")
"""What a promotion may point at: local or shared files, a web server, an object store."""

_SHA256 = re.compile(r"[0-9a-f]{64}")

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x80\x02", "a Python pickle (protocol 2)"),
    (b"\x80\x03", "a Python pickle (protocol 3)"),
    (b"\x80\x04", "a Python pickle (protocol 4)"),
    (b"\x80\x05", "a Python pickle (protocol 5)"),
    (b"PK\x03\x04", "a zip archive (joblib, torch or keras files are zips of pickles)"),
    (b"\x89HDF", "an HDF5 file (keras)"),
    (b"\x93NUMPY", "a numpy array file"),
    (b"{", "JSON"),
    (b"[", "JSON"),
)
"""First bytes of formats people promote by mistake, named in the refusal."""

_ONNX_FIRST_BYTE = 0x08
"""An ONNX ModelProto serialised by any exporter starts with field 1 (``ir_version``) as a
varint: tag byte 0x08. Anything else is not an ONNX model; onnxruntime then checks the rest."""


@dataclass(frozen=True)
class Artifact:
    """Verified bytes of a promoted artifact."""

    uri: str
    sha256: str
    data: bytes


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha256(text: str) -> str | None:
    """Why ``text`` is not a lowercase hex sha256, or None."""
    return None if _SHA256.fullmatch(text) else "not 64 lowercase hex digits (a sha256)"


def scheme_of(uri: str) -> str | None:
    """The URI's scheme (``file``, ``https``), or None for a bare path."""
    head, separator, _rest = uri.partition("://")
    return head.lower() if separator and head.isascii() and head.isalnum() else None


def fetch(
    uri: str,
    *,
    max_bytes: int = MAX_ARTIFACT_BYTES,
    timeout: float = FETCH_TIMEOUT_SECONDS,
) -> bytes:
    """The bytes at ``uri``, or :class:`FetchFailedError` saying why not."""
    scheme = scheme_of(uri)
    if scheme is None:
        raise FetchFailedError(uri, "not a URI; write file:///absolute/path for a local file")
    if scheme not in SCHEMES:
        raise FetchFailedError(uri, f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}")
    import fsspec  # noqa: PLC0415 - loaded by the services that fetch, not by `hfos --help`

    try:
        with fsspec.open(uri, "rb", **_options(scheme, timeout)) as stream:
            data = stream.read(max_bytes + 1)
    except ImportError as missing:
        raise FetchFailedError(
            uri, f"{scheme}:// needs its fsspec package ({missing})"
        ) from missing
    except Exception as error:  # every backend raises its own; all mean "not read"
        raise FetchFailedError(uri, f"{type(error).__name__}: {error}") from error
    if len(data) > max_bytes:
        raise FetchFailedError(uri, f"larger than {max_bytes} bytes")
    if not data:
        raise FetchFailedError(uri, "empty")
    return bytes(data)


def _options(scheme: str, timeout: float) -> dict[str, Any]:
    if scheme not in ("http", "https"):
        return {}
    import aiohttp  # noqa: PLC0415 - fsspec's HTTP backend

    # block_size 0 streams the body with one GET: no Range requests, which plain web
    # servers (Python's http.server among them) do not answer.
    return {"block_size": 0, "client_kwargs": {"timeout": aiohttp.ClientTimeout(total=timeout)}}


def verify_digest(uri: str, data: bytes, expected: str) -> Artifact:
    actual = sha256_hex(data)
    if actual != expected:
        raise DigestMismatchError(uri, expected, actual)
    return Artifact(uri, actual, data)


def check_format(uri: str, declared: ModelFormat | str, data: bytes) -> None:
    """:class:`UnsupportedFormatError` unless ``declared`` is ONNX and the bytes look it."""
    if str(declared) != ModelFormat.ONNX.value:
        raise UnsupportedFormatError(uri, f"format {declared} is declared; only ONNX is loaded")
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            raise UnsupportedFormatError(uri, f"the file is {name}, not ONNX; it was not opened")
    if data[0] != _ONNX_FIRST_BYTE:
        raise UnsupportedFormatError(uri, f"not an ONNX model (first byte 0x{data[0]:02x})")


def fetch_verified(uri: str, sha256: str, declared: ModelFormat | str) -> Artifact:
    """Declared format, bytes, digest and the bytes' own format, in that order."""
    if str(declared) != ModelFormat.ONNX.value:
        raise UnsupportedFormatError(uri, f"format {declared} is declared; only ONNX is loaded")
    artifact = verify_digest(uri, fetch(uri), sha256)
    check_format(uri, declared, artifact.data)
    return artifact
