"""The entry point loads what a command needs and nothing else (issue 13 point 8): the
command table spells each command's help so ``hfos --help`` imports no command module, and
no command but ``hfos worker`` imports Faust."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys

import click
import pytest

from services.cli.main import COMMANDS, cli
from streams.strategy import DEFAULT_STRATEGY


def _loaded_after(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after running ``hfos *argv``."""
    code = (
        "import json, sys\n"
        "from services.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return set(loaded)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_table_when_compared_with_the_command_then_same_help(name: str) -> None:
    module, _, attribute = COMMANDS[name][0].partition(":")
    command = getattr(importlib.import_module(module), attribute)

    assert isinstance(command, click.Command)
    assert command.name == name
    assert command.get_short_help_str(200) == COMMANDS[name][1]


def test_help_when_run_then_lists_every_command_and_imports_none_of_them() -> None:
    loaded = _loaded_after(["--help"])

    assert not {m for m in loaded if m.startswith("services.cli.") and m != "services.cli.main"}
    assert not {"confluent_kafka", "faust", "pydantic", "redis"} & loaded


def test_a_refused_argument_when_run_then_no_kafka_client_or_settings_loaded() -> None:
    loaded = _loaded_after(["ess", "trip", "--scope", "account:\x1b", "--by", "o", "--reason", "r"])

    assert "services.cli.ess" in loaded
    assert not {"confluent_kafka", "faust", "pydantic", "services.settings"} & loaded


@pytest.mark.parametrize(
    "argv",
    [["policy", "show", "--help"], ["ess", "status", "--help"], ["topics", "list", "--help"]],
)
def test_commands_outside_the_worker_when_loaded_then_faust_is_not_imported(
    argv: list[str],
) -> None:
    assert "faust" not in _loaded_after(argv)


def test_help_when_printed_then_every_command_is_listed() -> None:
    from services.testing.cli import run_cli  # noqa: PLC0415

    result = run_cli(["--help"], {})

    assert result.exit_code == 0
    listed = re.findall(r"^  (\S+)  ", result.stdout.split("Commands:")[1], re.MULTILINE)
    assert listed == list(COMMANDS)


def test_cli_default_strategy_when_compared_with_the_core_then_equal() -> None:
    from services.cli import strategy  # noqa: PLC0415

    assert strategy.DEFAULT_STRATEGY is DEFAULT_STRATEGY
    assert cli.name == "cli"
