"""docs/EVENTS.md is generated from the catalogue and the schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.catalogue import ALL_TOPICS
from schemas.eventsdoc import REGENERATE, main, render, type_label

EVENTS_MD = Path(__file__).resolve().parents[2] / "docs" / "EVENTS.md"


def test_events_md_when_compared_with_generator_then_up_to_date() -> None:
    """The committed docs/EVENTS.md is exactly what the generator prints now."""
    committed = EVENTS_MD.read_text(encoding="utf-8") if EVENTS_MD.exists() else ""
    assert committed == render(), f"docs/EVENTS.md is out of date; run: {REGENERATE}"


def test_render_when_generated_then_lists_every_topic() -> None:
    """Every topic (DLQs included) has a row."""
    rendered = render()
    assert all(f"| `{spec.name}` |" in rendered for spec in ALL_TOPICS)


def test_main_when_run_then_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m schemas.eventsdoc`` writes the document to stdout."""
    main()
    assert capsys.readouterr().out == render()


@pytest.mark.parametrize(
    ("schema", "label"),
    [
        (["null", "long"], "null \\| long"),
        ({"type": "long", "logicalType": "timestamp-millis"}, "long (timestamp-millis)"),
        ({"type": "map", "values": "double"}, "map<double>"),
        ("hfos.EssState", "`EssState`"),
    ],
)
def test_type_label_when_rendered_then_compact(schema: object, label: str) -> None:
    """Types render compactly, unions escaped for Markdown tables."""
    assert type_label(schema) == label
