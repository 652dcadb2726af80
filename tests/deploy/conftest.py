"""The deploy toolchain (helm, kubeconform, promtool, prometheus) and the chart rendered
by the real helm. ``scripts/test`` installs the tools first (``scripts/deploy-tools``);
a test run without them fails saying how to get them, it does not skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "hfos"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
"""The values files every render test runs with, beside the defaults."""
KUBE_VERSIONS = ("1.25.0", "1.37.0")
"""The chart's kubeVersion floor and the newest Kubernetes the bundled schemas know."""

Manifests = list[dict[str, Any]]


def _cache() -> Path:
    return Path(os.environ.get("HFOS_CACHE_DIR", Path.home() / ".cache" / "hfos"))


def find_tool(name: str) -> str:
    for candidate in (_cache() / "go" / "bin" / name, shutil.which(name)):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(f"{name} is not installed: run scripts/deploy-tools (scripts/test does)")


@pytest.fixture(scope="session")
def helm() -> str:
    return find_tool("helm")


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def render_chart(helm: str, *values: Path, sets: tuple[str, ...] = ()) -> str:
    argv = [helm, "template", "desk", str(CHART), "--namespace", "trading"]
    argv += [arg for path in values for arg in ("-f", str(path))]
    argv += [arg for item in sets for arg in ("--set", item)]
    done = run(argv)
    if done.returncode != 0:
        raise AssertionError(f"helm template failed:\n{done.stderr}")
    return done.stdout


def documents(text: str) -> Manifests:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., Manifests]:
    """``render(*values_files, sets=(...))``: the chart's manifests as dicts."""
    cache: dict[tuple[Any, ...], Manifests] = {}

    def rendered(*values: Path, sets: tuple[str, ...] = ()) -> Manifests:
        key = (values, sets)
        if key not in cache:
            cache[key] = documents(render_chart(helm, *values, sets=sets))
        return cache[key]

    return rendered


def of_kind(manifests: Manifests, kind: str) -> Manifests:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: Manifests, kind: str, suffix: str) -> dict[str, Any]:
    [found] = [m for m in of_kind(manifests, kind) if m["metadata"]["name"].endswith(suffix)]
    return found


def pod_specs(manifests: Manifests) -> list[dict[str, Any]]:
    return [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in {"Deployment", "Job"}]


def containers(manifests: Manifests) -> list[dict[str, Any]]:
    return [
        c
        for spec in pod_specs(manifests)
        for c in spec["containers"] + spec.get("initContainers", [])
    ]


@pytest.fixture(scope="session")
def kube_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kubernetes-validate's bundled strict schemas, made loadable by kubeconform offline:
    their ``$ref``s point at https://kubernetes.io/api/_definitions.json through ``$id``;
    here they point at the file beside them (the same content, no network)."""
    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    target = tmp_path_factory.mktemp("kube-schemas")
    for version in KUBE_VERSIONS:
        source = bundled / f"v{version}-local-strict"
        out = target / source.name
        out.mkdir()
        for schema in source.glob("*.json"):
            text = schema.read_text().replace('"/api/_definitions.json#', '"_definitions.json#')
            document = json.loads(text)
            document.pop("$id", None)
            (out / schema.name).write_text(json.dumps(document))
    return target
