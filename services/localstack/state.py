"""The state file that ``hfos stack up`` writes and every other command reads.

It records, per part, the ports, the pid and the address clients use, so that tests, the
CLI and ``hfos stack status`` find a running stack without configuration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.localstack.paths import StackPaths


@dataclass
class PartState:
    """One server of the stack: its address, ports and process id."""

    address: str
    ports: list[int]
    pid: int | None = None


@dataclass
class StackState:
    parts: dict[str, PartState] = field(default_factory=dict)

    def addresses(self) -> dict[str, str]:
        """The three client addresses, keyed by the environment variable that carries them."""
        names = {
            "kafka": "KAFKA_BOOTSTRAP_SERVERS",
            "registry": "SCHEMA_REGISTRY_URL",
            "redis": "REDIS_URL",
        }
        return {names[part]: state.address for part, state in self.parts.items() if part in names}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {name: asdict(part) for name, part in self.parts.items()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
        tmp.replace(path)  # atomic: a reader never sees half a file

    @classmethod
    def load(cls, path: Path) -> StackState | None:
        try:
            payload = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return cls(parts={name: PartState(**part) for name, part in payload.items()})

    @classmethod
    def load_default(cls) -> StackState | None:
        return cls.load(StackPaths.default().state_file)
