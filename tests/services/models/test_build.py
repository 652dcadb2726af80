"""``hfos model build``: a real model trained on simulator data, reproducibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.cli.main import cli
from services.models.artifact import sha256_hex
from services.models.build import BuildConfig, build, training_data

pytestmark = pytest.mark.timeout(120)


def test_build_when_run_twice_then_same_bytes_and_learned_the_exit_rule(tmp_path: Path) -> None:
    first = build(BuildConfig("exit-model", "1"), tmp_path / "a.onnx")
    again = build(BuildConfig("exit-model", "1"), tmp_path / "b.onnx")
    assert first.sha256 == again.sha256 == sha256_hex((tmp_path / "a.onnx").read_bytes())
    assert first.metrics["accuracy"] > 0.95
    assert first.metrics["roc_auc"] > 0.98
    assert 0.05 < first.metrics["close_rate"] < 0.95  # both classes present


def test_build_when_versions_differ_then_digests_differ(tmp_path: Path) -> None:
    one = build(BuildConfig("exit-model", "1"), tmp_path / "1.onnx")
    two = build(BuildConfig("exit-model", "2"), tmp_path / "2.onnx")
    assert one.sha256 != two.sha256


def test_training_data_when_labelled_then_closes_are_past_stop_or_take_profit() -> None:
    config = BuildConfig("m", "1", positions=50)
    rows, labels = training_data(config)
    levered = rows[:, 2]
    expected = (levered <= -config.stop_loss) | (levered >= config.take_profit)
    assert (labels.astype(bool) == expected).all()


def test_cli_build_when_run_then_prints_the_sha256_of_the_file_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "exit.onnx"
    result = CliRunner().invoke(
        cli, ["model", "build", "exit-model", "--version", "7", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    assert printed["sha256"] == sha256_hex(out.read_bytes())
    assert printed["uri"] == out.resolve().as_uri()
