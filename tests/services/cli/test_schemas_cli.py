"""``hfos schemas check`` fails a change that breaks BACKWARD compatibility."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from services.cli.main import cli


def _check(avro_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["schemas", "check", "--avro-dir", str(avro_dir)])
    return result.exit_code, result.output + str(result.exception or "")


def test_check_when_schemas_unchanged_then_passes(avro_dir: Path) -> None:
    code, output = _check(avro_dir)
    assert code == 0, output
    assert "checked" in output


def test_check_when_required_field_added_then_fails_naming_it(avro_dir: Path) -> None:
    path = avro_dir / "market_price.avsc"
    text = path.read_text()
    marker = '"fields": ['
    path.write_text(text.replace(marker, marker + '{"name": "venue", "type": "string"},', 1))

    code, output = _check(avro_dir)

    assert code != 0
    assert "venue" in output
    assert "INCOMPATIBLE" in output
