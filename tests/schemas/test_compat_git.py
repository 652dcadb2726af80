"""check_against_ref compares the working tree's schemas with a committed revision.

Each test builds its own throwaway git repository (never the project's) holding a copy
of schemas/avro, commits it, then changes the copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from schemas.compat import GitRefError, IncompatibilityKind, check_against_ref
from schemas.loader import AVRO_DIR, schema_names

PROJECT_ROOT = AVRO_DIR.parents[1]


def _edit(path: Path, edit: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert edit in text
    path.write_text(text.replace(edit, replacement), encoding="utf-8")


def test_check_when_nothing_changed_then_every_schema_checked_and_ok(avro_dir: Path) -> None:
    """An unchanged tree is compatible with HEAD, and every schema was compared."""
    report = check_against_ref("HEAD", avro_dir)
    assert report.ok
    assert report.checked == schema_names()
    assert report.added == report.removed == ()


def test_check_when_enum_symbol_removed_then_fails_at_using_topics(avro_dir: Path) -> None:
    """Removing EMERGENCY from ExitReason breaks the enum, position.closed, and the closed
    positions of account.updated (and their record type)."""
    _edit(avro_dir / "exit_reason.avsc", ',\n    "EMERGENCY"', "")
    report = check_against_ref("HEAD", avro_dir)
    assert not report.ok
    assert {issue.path for issue in report.incompatibilities} == {
        "hfos.ExitReason",
        "hfos.ClosedPosition.exit_reason",
        "account.updated.closed[].exit_reason",
        "position.closed.exit_reason",
    }


def test_check_when_field_added_without_default_then_fails(avro_dir: Path) -> None:
    """A new required field in market.price is reported with its path."""
    path = avro_dir / "market_price.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "bid", "type": "double", "doc": "Best bid."})
    path.write_text(json.dumps(schema), encoding="utf-8")
    [issue] = check_against_ref("HEAD", avro_dir).incompatibilities
    assert (issue.path, issue.kind) == ("market.price.bid", IncompatibilityKind.MISSING_DEFAULT)


def test_check_when_type_narrowed_then_fails(avro_dir: Path) -> None:
    """Narrowing ess.state's version from long to int is refused."""
    path = avro_dir / "ess_scope_state.avsc"
    _edit(path, '"version", "type": "long"', '"version", "type": "int"')
    [issue] = check_against_ref("HEAD", avro_dir).incompatibilities
    assert (issue.path, issue.kind) == ("ess.state.version", IncompatibilityKind.TYPE_MISMATCH)


def test_check_when_schema_is_new_then_reported_as_added_and_ok(avro_dir: Path) -> None:
    """A schema absent at the ref has nothing to be compatible with."""
    new = {"type": "enum", "name": "Venue", "namespace": "hfos", "symbols": ["PAPER"]}
    (avro_dir / "venue.avsc").write_text(json.dumps(new), encoding="utf-8")
    report = check_against_ref("HEAD", avro_dir)
    assert report.ok
    assert report.added == ("hfos.Venue",)


def test_check_when_unused_schema_removed_then_reported_as_removed(avro_dir: Path) -> None:
    """A schema deleted since the ref is listed, so a reviewer sees it went."""
    (avro_dir / "scope_kind.avsc").unlink()
    assert check_against_ref("HEAD", avro_dir).removed == ("hfos.ScopeKind",)


def test_check_when_ref_unknown_then_typed_error_names_ref(avro_dir: Path) -> None:
    """A revision git cannot resolve is a GitRefError naming it."""
    with pytest.raises(GitRefError, match="no-such-branch") as caught:
        check_against_ref("no-such-branch", avro_dir)
    assert caught.value.ref == "no-such-branch"


def test_check_when_ref_looks_like_an_option_then_refused(avro_dir: Path) -> None:
    """A ref starting with '-' never reaches git as an option."""
    with pytest.raises(GitRefError, match="cannot start with"):
        check_against_ref("--output=/tmp/x", avro_dir)


def test_check_when_repository_has_no_commit_then_typed_error(repo: Path) -> None:
    """Before the first commit there is no HEAD to compare with."""
    target = repo / "schemas" / "avro"
    shutil.copytree(AVRO_DIR, target)
    with pytest.raises(GitRefError):
        check_against_ref("HEAD", target)


def _project_has_head() -> bool:
    probe = ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"]
    return subprocess.run(probe, cwd=PROJECT_ROOT, capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _project_has_head(), reason="the project has no commit to compare with")
def test_project_schemas_when_checked_against_head_then_backward_compatible() -> None:
    """The gate of SPEC §1: the working tree's schemas can read what HEAD's wrote."""
    report = check_against_ref("HEAD")
    assert report.ok, "\n".join(str(issue) for issue in report.incompatibilities)
