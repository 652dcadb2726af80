"""Getting the servers onto a fresh machine, once, into the cache directory.

- Kafka: ``mvn dependency:copy-dependencies`` on the committed ``pom.xml``.
- Apicurio Registry: ``mvn dependency:copy`` of its ``tar.gz:all`` artifact, then untar.
- Redis: Debian's ``redis-server`` package, installed with apt when it is missing.

Each step is skipped when its result is already in the cache, so warm starts do no I/O
beyond a few ``stat`` calls. Each runs under a file lock: two stacks started at once on a
fresh machine (the test command starts two) install once, not twice into one directory.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

from services.localstack.exceptions import InstallError

POM = Path(__file__).with_name("pom.xml")
_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True)
class ApicurioRelease:
    """An Apicurio Registry 3.x build: which JDK it needs and which jar starts it."""

    version: str
    min_java: int
    launcher: str


# 3.3.x is compiled for Java 21; where only Java 17 exists, 3.0.9 (the last 3.x built for
# 17) is used instead. Both serve the Confluent API at /apis/ccompat/v7.
APICURIO_RELEASES = (
    ApicurioRelease("3.3.3", 21, "quarkus-run.jar"),
    ApicurioRelease("3.0.9", 17, "apicurio-registry-app-3.0.9-runner.jar"),
)


def kafka_version() -> str:
    """The Kafka version pinned in the committed pom."""
    root = ElementTree.parse(POM).getroot()  # noqa: S314 - our own committed file
    node = root.find("m:properties/m:kafka.version", _MAVEN_NS)
    if node is None or not node.text:
        raise InstallError("kafka", f"{POM} declares no kafka.version property")
    return node.text.strip()


def ensure_kafka_libs(cache_dir: Path) -> Path:
    """The directory holding the broker's runtime classpath, downloaded if absent."""
    target = cache_dir / f"kafka-{kafka_version()}-libs"
    marker = target / ".complete"
    if marker.exists():
        return target
    with _installing(cache_dir, target.name):
        if not marker.exists():
            _maven_kafka_libs(target)
            marker.touch()
    return target


def _maven_kafka_libs(target: Path) -> None:
    _run_maven(
        "kafka",
        [
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={target}",
        ],
    )


def ensure_apicurio(cache_dir: Path) -> tuple[ApicurioRelease, Path, Path]:
    """(release, java executable, launcher jar) of the newest Apicurio this machine runs."""
    for release in APICURIO_RELEASES:
        java = find_java(release.min_java)
        if java is not None:
            home = _unpack_apicurio(cache_dir, release.version)
            return release, java, home / release.launcher
    raise InstallError("registry", "no Java 17 or newer found (JAVA_HOME, PATH, /usr/lib/jvm)")


def _unpack_apicurio(cache_dir: Path, version: str) -> Path:
    home = cache_dir / f"apicurio-{version}"
    marker = home / ".complete"
    if marker.exists():
        return home
    with _installing(cache_dir, home.name):
        if not marker.exists():
            _download_apicurio(cache_dir, version, home)
            marker.touch()
    return home


def _download_apicurio(cache_dir: Path, version: str, home: Path) -> None:
    downloads = cache_dir / "downloads"
    artifact = f"io.apicurio:apicurio-registry-app:{version}:tar.gz:all"
    _run_maven(
        "registry", ["dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={downloads}"]
    )
    archive = downloads / f"apicurio-registry-app-{version}-all.tar.gz"
    home.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(home, filter="data")


def ensure_redis() -> Path:
    """The ``redis-server`` executable, installed from Debian's package when missing."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    if shutil.which("apt-get") is None:
        raise InstallError("redis", "redis-server is not installed and apt-get is unavailable")
    with _installing(Path(tempfile.gettempdir()), "hfos-redis-server"):
        if shutil.which("redis-server") is None:
            _apt_install_redis()
    found = shutil.which("redis-server")
    if not found:
        raise InstallError("redis", "apt-get installed redis-server but it is not on PATH")
    return Path(found)


def _apt_install_redis() -> None:
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InstallError("redis", f"`{' '.join(argv)}` failed", done.stderr[-2000:])


@contextmanager
def _installing(directory: Path, what: str) -> Iterator[None]:
    """Hold ``directory/.what.lock``: one process installs ``what`` at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f".{what}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_maven(part: str, args: list[str]) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InstallError(part, "Maven (mvn) is not on PATH; install it (apt-get install maven)")
    done = subprocess.run([mvn, "-q", "-B", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        raise InstallError(part, f"mvn {' '.join(args[:2])} failed", output)


@cache
def java_major(java: Path) -> int | None:
    """The major version of a ``java`` executable, or None when it does not run."""
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    match = re.search(r'version "(\d+)', done.stderr)
    return int(match.group(1)) if match else None


def find_java(min_major: int) -> Path | None:
    """The first JDK with at least ``min_major``: JAVA_HOME, then PATH, then /usr/lib/jvm."""
    for java in _java_candidates():
        major = java_major(java)
        if major is not None and major >= min_major:
            return java
    return None


def _java_candidates() -> list[Path]:
    found: list[Path] = []
    if home := os.environ.get("JAVA_HOME"):
        found.append(Path(home) / "bin" / "java")
    if on_path := shutil.which("java"):
        found.append(Path(on_path))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        found.extend(sorted(jvm.glob("*/bin/java"), reverse=True))
    return [java for java in found if java.exists()]
