"""values.schema.json refuses bad values, naming the field; and every environment variable
the chart sets is a setting the code reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from services.settings import Settings
from tests.deploy.conftest import CHART, CI_VALUES, Manifests, containers, of_kind, run

pytestmark = pytest.mark.timeout(120)

BAD = sorted((Path(__file__).parent / "bad-values").glob("*.yaml"))


def expected_error(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must say what error it expects"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("values", BAD, ids=[p.stem for p in BAD])
def test_schema_when_values_bad_then_template_refused_naming_the_field(
    helm: str, values: Path
) -> None:
    done = run([helm, "template", "desk", str(CHART), "-f", str(values)])
    assert done.returncode != 0, f"{values.name} was accepted"
    assert "don't meet the specifications of the schema" in done.stderr
    assert expected_error(values) in done.stderr


@pytest.mark.parametrize("values", BAD, ids=[p.stem for p in BAD])
def test_lint_when_values_bad_then_fails(helm: str, values: Path) -> None:
    done = run([helm, "lint", "--strict", str(CHART), "-f", str(values)])
    assert done.returncode != 0


def test_bad_values_when_counted_then_cover_types_ranges_unknown_keys_and_secrets() -> None:
    assert {p.stem for p in BAD} >= {
        "unknown-top-level-key",
        "negative-replicas",
        "replicas-wrong-type",
        "password-in-redis-url",
        "sasl-password-in-values",
    }


@pytest.mark.parametrize(
    "values", [None, *CI_VALUES], ids=["defaults", *(p.stem for p in CI_VALUES)]
)
def test_every_env_var_when_set_by_chart_then_a_setting_the_code_reads(
    render: Callable[..., Manifests], values: Path | None
) -> None:
    manifests = render(*([values] if values else []))
    read = {name.upper() for name in Settings.model_fields}
    set_by_chart = {
        key
        for cm in of_kind(manifests, "ConfigMap")
        if cm["metadata"]["name"].endswith("-settings")
        for key in cm["data"]
    }
    set_by_chart |= {e["name"] for c in containers(manifests) for e in c.get("env", [])}
    assert set_by_chart, "the chart sets no environment at all"
    assert set_by_chart <= read, f"not settings: {sorted(set_by_chart - read)}"
