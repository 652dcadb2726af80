"""The HTTP server of a service's metrics port: ``/metrics``, ``/healthz``, ``/readyz``.

A thread of its own (prometheus-client's exposition runs the same way), so a busy or
wedged service loop does not make Prometheus or the kubelet wait: they read what the loop
last reported. 200 means yes, 503 no; the body is one JSON object saying why.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder

from services.health.probe import Probe, Verdict

_NOT_FOUND = b"not found: /metrics, /healthz, /readyz\n"


class _Handler(BaseHTTPRequestHandler):
    probe: ClassVar[Probe]

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/healthz":
            self._verdict(self.probe.liveness())
        elif path == "/readyz":
            self._verdict(self.probe.readiness())
        else:
            self._send(404, "text/plain; charset=utf-8", _NOT_FOUND)

    def _metrics(self) -> None:
        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        self._send(200, content_type, encoder(REGISTRY))

    def _verdict(self, verdict: Verdict) -> None:
        body = {"service": self.probe.service, "ok": verdict.ok, "detail": verdict.detail}
        payload = (json.dumps(body) + "\n").encode()
        self._send(200 if verdict.ok else 503, "application/json", payload)

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Probes come every few seconds: not worth a log line each."""


class HealthServer:
    def __init__(self, probe: Probe, port: int, host: str = "0.0.0.0") -> None:
        handler = type("Handler", (_Handler,), {"probe": probe})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"health-{port}", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(probe: Probe, port: int, host: str = "0.0.0.0") -> HealthServer:
    """Serve ``probe`` and the metrics on ``host:port`` from a daemon thread."""
    return HealthServer(probe, port, host).start()
