"""The three servers of the local stack: how each is prepared, started and checked.

Each part knows its own ports, its command line, and what "ready" means for it — a real
client call, never a fixed sleep: an AdminClient metadata request for Kafka, an HTTP call
on the Confluent API for the registry, a PING for Redis.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import redis
from confluent_kafka.admin import AdminClient

from services.localstack import downloads
from services.localstack.exceptions import StackError

# Single node: every internal topic must have replication factor 1, and nobody should wait
# 3 s (the default group.initial.rebalance.delay.ms) for a group that has one member.
_KAFKA_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
"""

_QUIET = logging.getLogger("hfos.localstack.readiness")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())

_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class Part(ABC):
    """One server: prepared once, started as one process, checked by a real client."""

    name: ClassVar[str]
    port_count: ClassVar[int] = 1

    def __init__(self, home: Path, cache: Path, ports: list[int]) -> None:
        self.home = home
        self.cache = cache
        self.ports = ports

    @property
    def log(self) -> Path:
        return self.home / f"{self.name}.log"

    @property
    def marker(self) -> str:
        """Text on the process's command line that identifies this part's server."""
        return str(self.home)

    @property
    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def prepare(self) -> list[str]:
        """Download and configure what is missing; return the command line."""

    @abstractmethod
    def check(self, timeout: float) -> str | None:
        """None when the server answers a real request, else what went wrong."""

    def after_ready(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Configuration applied through the server's own API once it answers."""


class Kafka(Part):
    name = "kafka"
    port_count = 2

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ports[0]}"

    def prepare(self) -> list[str]:
        libs = downloads.ensure_kafka_libs(self.cache)
        java = downloads.find_java(17)
        data = self.home / "data"
        config = self.home / "server.properties"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            _KAFKA_PROPERTIES.format(broker=self.ports[0], controller=self.ports[1], data=data)
        )
        log4j = self.home / "log4j2.properties"
        log4j.write_text(_LOG4J2.format(log=self.home / "server.log"))
        base = [str(java), f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{libs}/*"]
        if not (data / "meta.properties").exists():
            self._format(base, config)
        # 1 GiB: a test run creates ~1 500 topics (each test its own prefixed set), and at
        # 512 MiB a long-lived dev stack ran out of heap holding their metadata.
        return [*base[:1], "-Xms256m", "-Xmx1g", *base[1:], "kafka.Kafka", str(config)]

    def _format(self, base: list[str], config: Path) -> None:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        argv = [
            *base,
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",
            "--config",
            str(config),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = done.stdout + done.stderr
            raise StackError(self.name, "formatting the KRaft log dir failed", output)

    def check(self, timeout: float) -> str | None:
        # librdkafka logs every refused connection to stderr; while we poll for readiness
        # those are expected, so they go to a logger nobody prints.
        admin = AdminClient(
            {"bootstrap.servers": self.address, "socket.timeout.ms": 2000}, logger=_QUIET
        )
        try:
            admin.list_topics(timeout=timeout)
        except Exception as error:  # noqa: BLE001 - any failure means "not ready yet"
            return str(error)
        return None


class Registry(Part):
    name = "registry"
    port_count = 2  # the Confluent API, and Quarkus's management interface

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}/apis/ccompat/v7"

    def prepare(self) -> list[str]:
        _release, java, launcher = downloads.ensure_apicurio(self.cache)
        self.home.mkdir(parents=True, exist_ok=True)
        # In-memory storage (Apicurio's default H2). The management interface is fixed on at
        # build time, so it gets a free loopback port instead of its default 0.0.0.0:9000,
        # where two stacks on one machine would collide.
        return [
            str(java),
            "-Xms128m",
            "-Xmx384m",
            f"-Dhfos.home={self.home}",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={self.ports[0]}",
            "-Dquarkus.management.host=127.0.0.1",
            f"-Dquarkus.management.port={self.ports[1]}",
            "-Dapicurio.rest.deletion.artifact.enabled=true",
            "-jar",
            str(launcher),
        ]

    def check(self, timeout: float) -> str | None:
        try:
            _http(f"{self.address}/subjects", timeout=timeout)
        except (OSError, urllib.error.URLError, ValueError) as error:
            return str(error)
        return None

    def after_ready(self) -> None:
        # Set explicitly: Apicurio starts with NONE, and SPEC §1 requires BACKWARD.
        _http(f"{self.address}/config", body={"compatibility": "BACKWARD"}, method="PUT")


class Redis(Part):
    name = "redis"

    @property
    def address(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    @property
    def marker(self) -> str:
        # redis-server rewrites its process title to "redis-server 127.0.0.1:<port>" a
        # moment after exec; before that the command line has "--port <port>". The port
        # is in both, and the recorded pid narrows it to our process.
        return str(self.ports[0])

    def prepare(self) -> list[str]:
        server = downloads.ensure_redis()
        self.home.mkdir(parents=True, exist_ok=True)
        # No persistence: Redis is a read cache here, and the failover tests need it to come
        # back empty; Kafka holds the truth.
        return [
            str(server),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.ports[0]),
            "--dir",
            str(self.home),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]

    def check(self, timeout: float) -> str | None:
        client = redis.Redis.from_url(
            self.address, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        try:
            client.ping()
        except redis.RedisError as error:
            return str(error)
        finally:
            client.close()
        return None


PARTS: tuple[type[Part], ...] = (Kafka, Registry, Redis)


def _http(url: str, body: object = None, method: str = "GET", timeout: float = 10.0) -> object:
    """One JSON request to the registry's Confluent API (always our own http:// address)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is built from 127.0.0.1 above
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
        return json.load(reply)
