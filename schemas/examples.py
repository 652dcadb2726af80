"""Valid example records for every schema, built from the schema itself.

A record decodes back equal to itself: timestamps are epoch milliseconds (UTC) and uuids
are strings, the representation hfos uses in Python (see ``schemas.serde``). Values
respect the field's ``unit`` (a fraction lies in [0, 1], money and prices are positive),
so builders in later tests can start from an example and override what they test.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.loader import PRIMITIVES, AvroSchema, SchemaError, SchemaSet, default_schemas

# Ranges per "unit" attribute of a double field; a unit not listed gets _DEFAULT_RANGE.
UNIT_RANGES: Mapping[str, tuple[float, float]] = {
    "fraction": (0.0, 1.0),
    "money": (1.0, 100_000.0),
    "price": (0.01, 100_000.0),
    "quantity": (0.001, 1_000.0),
    "leverage": (1.0, 125.0),
}
UNITS = frozenset(UNIT_RANGES) | {"ms", "seconds"}
"""Every value a field's ``unit`` attribute may take."""

_DEFAULT_RANGE = (0.0, 1_000.0)
_EPOCH_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
_YEAR_MS = 365 * 24 * 60 * 60 * 1000


def example_value(name: str, *, seed: int = 0, schemas: SchemaSet | None = None) -> Any:
    """A valid value of the named type ``name`` (a record, enum or fixed)."""
    resolved = schemas or default_schemas()
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    return _Builder(resolved, rng).value(resolved.definition(name), unit=None)


def example_record(
    name: str,
    *,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    schemas: SchemaSet | None = None,
) -> dict[str, Any]:
    """A valid record of the record schema ``name``; the same seed gives the same record.

    ``overrides`` replaces top-level fields (e.g. ``{"account_id": "acc-1"}``).
    """
    record = example_value(name, seed=seed, schemas=schemas)
    if not isinstance(record, dict):
        raise SchemaError(f"{name} is not a record schema; use example_value()")
    return {**record, **(overrides or {})}


def example_envelope(*, seed: int = 0, producer: str = "example") -> dict[str, Any]:
    """A valid ``hfos.Envelope`` value."""
    return example_record("hfos.Envelope", seed=seed, overrides={"producer": producer})


class _Builder:
    """Walks a qualified schema and draws a value for each node from one random source."""

    def __init__(self, schemas: SchemaSet, rng: random.Random) -> None:
        self._schemas = schemas
        self._rng = rng

    def value(self, schema: AvroSchema, unit: str | None, label: str = "s") -> Any:
        """A value of ``schema``; ``unit`` bounds doubles, ``label`` prefixes strings."""
        if isinstance(schema, list):
            return self._union(schema, unit, label)
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return self._primitive(schema, unit, label)
            return self.value(self._schemas.definition(schema), unit, label)
        logical = schema.get("logicalType")
        if logical is not None and logical in _LOGICAL:
            return _LOGICAL[logical](self._rng)
        build = self._complex.get(schema["type"])
        if build is None:
            return self.value(schema["type"], unit, label)
        return build(self, schema)

    def _union(self, branches: list[Any], unit: str | None, label: str) -> Any:
        # Mostly non-null, so that examples exercise the interesting branch.
        chosen = [b for b in branches if b != "null"] or branches
        if "null" in branches and self._rng.random() < 0.25:  # noqa: PLR2004 - null share
            return None
        return self.value(self._rng.choice(chosen), unit, label)

    def _primitive(self, kind: str, unit: str | None, label: str) -> Any:
        rng = self._rng
        if kind in {"float", "double"}:
            low, high = UNIT_RANGES.get(unit or "", _DEFAULT_RANGE)
            return rng.uniform(low, high)
        if kind in {"int", "long"}:
            return rng.randint(1, 10_000)
        if kind == "string":
            return f"{label}-{rng.randrange(16**8):08x}"
        if kind == "bytes":
            return rng.randbytes(8)
        if kind == "boolean":
            return rng.random() < 0.5  # noqa: PLR2004 - a fair coin
        return None

    def _record(self, schema: dict[str, Any]) -> dict[str, Any]:
        fields = schema["fields"]
        return {f["name"]: self.value(f["type"], f.get("unit"), f["name"]) for f in fields}

    def _enum(self, schema: dict[str, Any]) -> str:
        symbol: str = self._rng.choice(schema["symbols"])
        return symbol

    def _array(self, schema: dict[str, Any]) -> list[Any]:
        return [self.value(schema["items"], None) for _ in range(2)]

    def _map(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {f"k{i}": self.value(schema["values"], None) for i in range(2)}

    def _fixed(self, schema: dict[str, Any]) -> bytes:
        return self._rng.randbytes(int(schema["size"]))

    _complex: Mapping[str, Callable[[_Builder, dict[str, Any]], Any]] = {
        "record": _record,
        "error": _record,
        "enum": _enum,
        "array": _array,
        "map": _map,
        "fixed": _fixed,
    }


def _timestamp(rng: random.Random) -> int:
    return _EPOCH_MS + rng.randrange(_YEAR_MS)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_LOGICAL: Mapping[str, Callable[[random.Random], Any]] = {
    "timestamp-millis": _timestamp,
    "uuid": _uuid,
}
