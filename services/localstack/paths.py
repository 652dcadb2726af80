"""Where the local stack keeps its downloads and its state.

Downloads go to ``$HFOS_CACHE_DIR`` (default ``~/.cache/hfos``) so a second start on the
same machine takes seconds; server data and logs go to ``$HFOS_STACK_DIR`` (default
``~/.local/state/hfos/stack``), which ``hfos stack down --purge`` removes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackPaths:
    cache: Path
    data: Path

    @classmethod
    def default(cls) -> StackPaths:
        home = Path.home()
        cache = os.environ.get("HFOS_CACHE_DIR") or home / ".cache" / "hfos"
        data = os.environ.get("HFOS_STACK_DIR") or home / ".local" / "state" / "hfos" / "stack"
        return cls(cache=Path(cache), data=Path(data))

    @property
    def state_file(self) -> Path:
        return self.data / "stack.json"

    def part_dir(self, part: str) -> Path:
        return self.data / part
