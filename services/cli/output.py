"""How the CLI writes what it shows: one time format, and text a terminal cannot misread.

- **Times.** Every time in every JSON output is ISO-8601 UTC with milliseconds and a
  ``Z`` (``2026-11-30T04:21:32.000Z``), as ``hfos topics tail`` prints record fields;
  text output uses the same form. Events carry epoch milliseconds on the wire (Avro
  ``timestamp-millis``); this is only how they are shown.
- **Untrusted text.** A name or reason printed to a terminal passes :func:`printable`, so
  an escape sequence, a zero-width space or a right-to-left override written by some
  other producer shows as ``\\x1b``/``\\u200b``/``\\u202e`` instead of acting. JSON output
  is ASCII (``json.dumps`` escapes every such character).
"""

from __future__ import annotations

import json
from typing import Any

from schemas.values import iso_millis


def iso(millis: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC (None stays None)."""
    return None if millis is None else iso_millis(int(millis))


def printable(text: object) -> str:
    """``text`` with every character a terminal would interpret or hide escaped."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in str(text))


def dumps(payload: Any) -> str:
    """Indented, ASCII-only JSON."""
    return json.dumps(payload, indent=2, ensure_ascii=True)
