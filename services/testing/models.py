"""Model artifacts for tests: real ONNX models built by ``hfos model build``'s builder, a
pickle that would create a file if anything ever unpickled it, and a real HTTP server
(Python's ``http.server`` in a thread) to serve them from."""

from __future__ import annotations

import functools
import http.server
import pickle
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.models.artifact import sha256_hex
from services.models.build import BuildConfig, build

_BUILT = Path(tempfile.mkdtemp(prefix="hfos-test-models-"))


@dataclass(frozen=True)
class BuiltModel:
    name: str
    version: str
    path: Path
    sha256: str

    @property
    def uri(self) -> str:
        return self.path.resolve().as_uri()


@functools.cache
def built_model(name: str, version: str) -> BuiltModel:
    """A real exit model ``name`` ``version`` (built once per process)."""
    out = _BUILT / name / f"{version}.onnx"
    made = build(BuildConfig(name, version), out)
    return BuiltModel(name, version, made.path, made.sha256)


class _CreatesFile:
    """Unpickling this calls ``Path.touch(target)``: the proof that something unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, tuple[Path]]:
        return (Path.touch, (self.target,))


def pickle_bomb(directory: Path, target: Path) -> tuple[Path, str]:
    """A pickle file whose unpickling would create ``target``; its path and sha256."""
    data = pickle.dumps(_CreatesFile(target), protocol=4)
    path = directory / "model.pkl"
    path.write_bytes(data)
    return path, sha256_hex(data)


class _Handler(http.server.SimpleHTTPRequestHandler):
    delay_seconds = 0.0

    def do_GET(self) -> None:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        del format, args


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a slow answer (a timeout under test) is expected; the
        default prints a traceback to stderr, into whatever test runs next."""
        del request, client_address


@contextmanager
def http_server(directory: Path, delay_seconds: float = 0.0) -> Iterator[str]:
    """Serve ``directory`` over HTTP on a free loopback port; yields the base URL. With
    ``delay_seconds``, every GET waits that long before answering (a slow artifact store)."""
    handler = type(
        "Handler",
        (_Handler,),
        {"delay_seconds": delay_seconds},
    )
    server = _QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, name="artifact-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
