"""The chart passes ``helm lint --strict`` and renders, with the defaults and with every
values file in helm/hfos/ci, manifests that Kubernetes' own schemas accept strictly
(no unknown field) — checked offline by two validators."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import kubernetes_validate
import pytest

from tests.deploy.conftest import (
    CHART,
    CI_VALUES,
    KUBE_VERSIONS,
    Manifests,
    documents,
    find_tool,
    render_chart,
    run,
)

pytestmark = pytest.mark.timeout(300)

VALUES = [None, *CI_VALUES]
IDS = ["defaults", *(p.stem for p in CI_VALUES)]
CRDS = {"ServiceMonitor", "PrometheusRule"}
"""The Prometheus Operator's kinds: no bundled schema (they are checked in test_chart.py,
and the rules they carry by promtool)."""


@pytest.mark.parametrize("values", VALUES, ids=IDS)
def test_lint_when_strict_then_passes(helm: str, values: Path | None) -> None:
    argv = [helm, "lint", "--strict", str(CHART)]
    done = run(argv + (["-f", str(values)] if values else []))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", VALUES, ids=IDS)
def test_manifests_when_validated_by_kubernetes_validate_then_strictly_valid(
    render: Callable[..., Manifests], values: Path | None, version: str
) -> None:
    manifests = render(*([values] if values else []))
    checked = 0
    for manifest in manifests:
        if manifest["kind"] in CRDS:
            continue
        kubernetes_validate.validate(manifest, version, strict=True)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("values", VALUES, ids=IDS)
def test_manifests_when_validated_by_kubeconform_then_strictly_valid(
    helm: str, kube_schemas: Path, values: Path | None, tmp_path: Path
) -> None:
    rendered = tmp_path / "manifests.yaml"
    rendered.write_text(render_chart(helm, *([values] if values else [])))
    location = f"{kube_schemas}/{{{{.NormalizedKubernetesVersion}}}}-local{{{{.StrictSuffix}}}}"
    for version in KUBE_VERSIONS:
        done = run(
            [
                find_tool("kubeconform"),
                "-strict",
                "-summary",
                "-kubernetes-version",
                version,
                "-skip",
                ",".join(sorted(CRDS)),
                "-schema-location",
                location + "/{{.ResourceKind}}{{.KindSuffix}}.json",
                str(rendered),
            ]
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Invalid: 0, Errors: 0" in done.stdout


def test_kubeconform_when_manifest_has_unknown_field_then_refuses(
    helm: str, kube_schemas: Path, tmp_path: Path
) -> None:
    """The validators would catch a typo: a misspelt field fails both."""
    text = render_chart(helm).replace("readOnlyRootFilesystem", "readOnlyRootFileSystem")
    rendered = tmp_path / "typo.yaml"
    rendered.write_text(text)
    location = f"{kube_schemas}/{{{{.NormalizedKubernetesVersion}}}}-local{{{{.StrictSuffix}}}}"
    done = run(
        [
            find_tool("kubeconform"),
            "-strict",
            "-kubernetes-version",
            KUBE_VERSIONS[-1],
            "-schema-location",
            location + "/{{.ResourceKind}}{{.KindSuffix}}.json",
            str(rendered),
        ]
    )
    assert done.returncode != 0
    assert "readOnlyRootFileSystem" in done.stdout
    deployment = next(m for m in documents(text) if m["kind"] == "Deployment")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[-1], strict=True)
