"""Avro in the Confluent wire format: byte 0x00, a 4-byte big-endian schema id, the body.

In Python, hfos keeps timestamps as epoch milliseconds (int) and uuids as strings: the
schemas carry ``timestamp-millis`` and ``uuid`` for every other tool, but fastavro parses
them here without logical types (:func:`codec_schema`). The bytes are identical, and
decoding skips building a ``datetime`` and a ``UUID`` per field, which halves its cost.

Schemas are registered in (and fetched from) a Confluent-compatible registry under the
TopicNameStrategy subject ``<topic>-value``, so kcat, kafka-ui or AKHQ pointed at the same
registry read every hfos topic. Records are written with fastavro in strict mode: a
missing, mistyped or unknown field is refused with its path, never silently dropped.
Decoding resolves the writer's schema (looked up by id) against the reader's, which is how
a consumer keeps reading records written under an older BACKWARD-compatible schema.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form
from fastavro.validation import ValidationError, validate

from schemas.errors import HfosError
from schemas.fastcodec import Codec, Decoder, UnsupportedSchemaError, compile_codec

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import Schema

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")

Record = dict[str, Any]


class SerdeError(HfosError):
    """A record could not be encoded or decoded; ``topic`` says where it was going or from."""

    def __init__(self, topic: str, problem: str) -> None:
        super().__init__(f"{topic}: {problem}")
        self.topic = topic
        self.problem = problem


class FramingError(SerdeError):
    """The bytes are not in the Confluent wire format (no magic byte, too short)."""


class UnknownSchemaIdError(SerdeError):
    """The record names a schema id the registry does not know."""

    def __init__(self, topic: str, schema_id: int, problem: str) -> None:
        super().__init__(topic, f"unknown schema id {schema_id}: {problem}")
        self.schema_id = schema_id


class RecordValidationError(SerdeError):
    """A record does not match its schema; ``fields`` names every offending path."""

    def __init__(self, topic: str, fields: list[str], problem: str) -> None:
        super().__init__(topic, f"invalid record ({', '.join(fields) or 'record'}): {problem}")
        self.fields = fields


class BodyDecodeError(SerdeError):
    """The body does not decode with the schema its header names."""


_Writing = tuple[int, bytes, Codec | None]


class RegistryClient(Protocol):
    """What the serde needs of confluent-kafka's ``SchemaRegistryClient`` (or of
    :class:`schemas.registry.RestRegistryClient`, which the CLI uses)."""

    def register_schema(self, subject_name: str, schema: Any) -> int: ...

    def get_schema(self, schema_id: int) -> Any: ...


def confluent_schema(schema_str: str) -> Schema:
    """confluent-kafka's ``Schema`` of an Avro schema text, imported on first use: the
    package costs ~0.35 s to import, which a process that only decodes never pays."""
    from confluent_kafka.schema_registry import Schema  # noqa: PLC0415 - start-up time

    return Schema(schema_str, "AVRO")


@dataclass(frozen=True)
class Contract:
    """One topic's value contract: its subject and its schema, parsed and as registered."""

    topic: str
    subject: str
    schema_name: str
    schema_str: str
    parsed: Any
    key_field: str | None = None
    """The value field its record keys must equal (the catalogue's ``key_field``)."""


UNKNOWN_ID_TTL_SECONDS = 10.0
"""How long a schema id the registry answered 404 for is taken as unknown without asking
again. Without it 3 000 records naming one unknown id made 3 000 registry calls and held a
breaching tick behind them for 4.6-8.8 s; with it, one call per id per 10 s. Short, so a
schema registered a moment later is found soon after."""
UNKNOWN_ID_MEMORY = 1024
"""Unknown ids remembered at once (the oldest forgotten first): garbage with random ids
must not grow the cache without bound."""


class AvroSerde:
    """Encode and decode records of any contract through one registry, caching ids."""

    def __init__(
        self,
        registry: RegistryClient,
        clock: Callable[[], float] = time.monotonic,
        *,
        schema_of: Callable[[str], Any] = confluent_schema,
    ) -> None:
        """``schema_of`` makes what ``registry.register_schema`` takes from a schema text."""
        self._registry = registry
        self._clock = clock
        self._schema_of = schema_of
        self._unknown: OrderedDict[int, tuple[float, str]] = OrderedDict()
        """Schema id -> (when the registry said 404, what it said)."""
        self._ids: dict[tuple[str, str], _Writing] = {}
        self._writers: dict[int, Any] = {}
        self._plans: dict[tuple[str, int], tuple[Any, Codec | None]] = {}
        self._decoders: dict[str, dict[bytes, Decoder]] = {}
        self._codecs: dict[str, Codec | None] = {}
        self._lock = threading.Lock()

    def schema_id(self, contract: Contract) -> int:
        """The registry id of ``contract`` (registered on first use; idempotent)."""
        return self._writing(contract)[0]

    def _writing(self, contract: Contract) -> _Writing:
        """``contract``'s registry id, its wire header and its generated encoder."""
        key = (contract.subject, contract.schema_str)
        found = self._ids.get(key)
        if found is not None:
            return found
        with self._lock:
            schema_id = self._registry.register_schema(
                contract.subject, self._schema_of(contract.schema_str)
            )
            self._writers[schema_id] = contract.parsed
            found = self._ids[key] = (
                schema_id,
                _HEADER.pack(MAGIC_BYTE, schema_id),
                self._codec(contract),
            )
        return found

    def encode(self, contract: Contract, record: Mapping[str, Any]) -> bytes:
        writing = self._ids.get((contract.subject, contract.schema_str))
        _, header, codec = writing if writing is not None else self._writing(contract)
        if codec is not None:
            try:
                return codec.encode(record, header)
            except Exception:  # noqa: BLE001, S110 - fastavro below judges, and names the error
                pass
        buffer = io.BytesIO()
        buffer.write(header)
        try:
            # The writer alone takes True for a number (Python's bool is an int); the
            # validator does not. This path runs only for a record the fast codec refused.
            validate(record, contract.parsed, raise_errors=True, strict=True)
            schemaless_writer(buffer, contract.parsed, record, strict=True)
        except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise RecordValidationError(
                contract.topic, invalid_fields(contract.parsed, record), str(error)
            ) from None
        return buffer.getvalue()

    def decode(self, contract: Contract, data: bytes | None) -> Record:
        # The usual record: framed, its schema the contract's own, already seen once. Its
        # 5-byte header finds the generated decoder directly; anything else (no value, a
        # bad frame, a new id, a body the decoder refuses) takes the checked path below.
        decoders = self._decoders.get(contract.schema_str)
        decoder = None
        if decoders is not None and data is not None:
            decoder = decoders.get(data[: _HEADER.size])
            if decoder is not None:
                try:
                    return decoder(data, _HEADER.size)[0]
                except Exception:  # noqa: BLE001, S110 - fastavro below judges the bytes
                    pass
        schema_id = frame_schema_id(contract.topic, data)
        plan = self._plans.get((contract.schema_str, schema_id))
        if plan is None:
            plan = self._plans[contract.schema_str, schema_id] = self._plan(contract, schema_id)
        writer, codec = plan
        if codec is not None and decoder is None and data is not None:
            header = _HEADER.pack(MAGIC_BYTE, schema_id)
            self._decoders.setdefault(contract.schema_str, {})[header] = codec.decode
            try:
                return codec.decode(data, _HEADER.size)[0]
            except Exception:  # noqa: BLE001, S110 - fastavro below judges the bytes
                pass
        reader = None if writer is contract.parsed else contract.parsed
        body = io.BytesIO(data or b"")
        body.seek(_HEADER.size)  # no copy of the body
        try:
            record = schemaless_reader(body, writer, reader)
        except Exception as error:  # noqa: BLE001 - fastavro raises many types on bad bytes
            raise BodyDecodeError(contract.topic, f"schema id {schema_id}: {error!r}") from None
        if not isinstance(record, dict):
            raise BodyDecodeError(contract.topic, "the body is not a record")
        return record

    def _codec(self, contract: Contract) -> Codec | None:
        """The generated fast path of ``contract``'s schema (``schemas.fastcodec``); None
        when the schema has a feature it does not cover."""
        key = contract.schema_str
        if key not in self._codecs:
            try:
                self._codecs[key] = compile_codec(contract.parsed)
            except UnsupportedSchemaError:
                self._codecs[key] = None
        return self._codecs[key]

    def _plan(self, contract: Contract, schema_id: int) -> tuple[Any, Codec | None]:
        """How to read ``contract``'s records written under ``schema_id``: the writer schema,
        and the generated decoder when the writer is the contract's own schema.

        "Own" means the same Parsing Canonical Form (the Avro spec's form for "these two
        schemas read bytes alike"), not the same text: a registry hands back its own
        rendering (Apicurio writes ``"name": "Envelope"`` where the file says
        ``"hfos.Envelope"``). Such records are read as the writer's, skipping schema
        resolution, which costs half again the decode.
        """
        writer = self._writer(contract.topic, schema_id)
        if writer is not contract.parsed and to_parsing_canonical_form(
            writer
        ) != to_parsing_canonical_form(contract.parsed):
            return writer, None
        return contract.parsed, self._codec(contract)

    def _writer(self, topic: str, schema_id: int) -> Any:
        found = self._writers.get(schema_id)
        if found is not None:
            return found
        known_unknown = self._still_unknown(schema_id)
        if known_unknown is not None:
            raise UnknownSchemaIdError(topic, schema_id, known_unknown)
        try:
            schema = self._registry.get_schema(schema_id)
        except Exception as error:  # noqa: BLE001 - the client raises its own error types
            if getattr(error, "http_status_code", None) == HTTPStatus.NOT_FOUND:
                self._remember_unknown(schema_id, str(error))
            raise UnknownSchemaIdError(topic, schema_id, str(error)) from None
        parsed = codec_schema(json.loads(schema.schema_str or "null"))
        self._writers[schema_id] = parsed
        return parsed

    def _still_unknown(self, schema_id: int) -> str | None:
        seen = self._unknown.get(schema_id)
        if seen is None:
            return None
        if self._clock() - seen[0] >= UNKNOWN_ID_TTL_SECONDS:
            del self._unknown[schema_id]
            return None
        return f"{seen[1]} (the registry said so under {UNKNOWN_ID_TTL_SECONDS:.0f} s ago)"

    def _remember_unknown(self, schema_id: int, answer: str) -> None:
        with self._lock:
            self._unknown[schema_id] = (self._clock(), answer)
            self._unknown.move_to_end(schema_id)
            while len(self._unknown) > UNKNOWN_ID_MEMORY:
                self._unknown.popitem(last=False)


def codec_schema(standalone: Any) -> Any:
    """``standalone`` (a full schema, named types inlined) parsed for encoding and decoding,
    with logical types dropped: they change how Python sees a value, never its bytes."""
    return parse_schema(_without_logical_types(standalone), named_schemas={})


def _without_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(item) for item in node]
    return node


def frame_schema_id(topic: str, data: bytes | None) -> int:
    """The schema id of a Confluent-framed value, or :class:`FramingError`."""
    if data is None:
        raise FramingError(topic, "the record has no value (a tombstone?)")
    if len(data) < _HEADER.size or data[0] != MAGIC_BYTE:
        raise FramingError(
            topic, f"not Confluent-framed Avro (first bytes {data[: _HEADER.size].hex() or '∅'})"
        )
    schema_id: int = _HEADER.unpack_from(data)[1]
    return schema_id


def invalid_fields(parsed: Any, record: Mapping[str, Any]) -> list[str]:
    """The paths of the fields that make ``record`` invalid for ``parsed``.

    fastavro's validator stops at the first problem, passes unknown fields and reports a
    missing one without its name. So names are compared first, then each present field is
    validated alone, spliced into a known-valid example of the same schema, and reported
    as ``field`` or ``field.leaf`` (fastavro's own paths mix in namespaced type names).
    """
    problems = _name_problems(parsed, record, "")
    base = _valid_example(parsed)
    for name in (field["name"] for field in parsed.get("fields", [])):
        if name not in record or base is None:
            continue
        try:
            validate({**base, name: record[name]}, parsed, raise_errors=True, strict=True)
        except ValidationError as error:
            for item in error.errors:
                leaf = str(item.field).rsplit(".", 1)[-1]
                problems.append(name if leaf in {name, ""} else f"{name}.{leaf}")
    return sorted(set(problems))


def _valid_example(parsed: Any) -> dict[str, Any] | None:
    from schemas.examples import example_record  # noqa: PLC0415 - only on the error path

    name = parsed.get("name") if isinstance(parsed, dict) else None
    try:
        return example_record(str(name)) if name else None
    except HfosError:
        return None


def _name_problems(schema: Any, record: Mapping[str, Any], prefix: str) -> list[str]:
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return []
    fields = {field["name"]: field for field in schema["fields"]}
    problems = [f"{prefix}{name} (unknown field)" for name in record if name not in fields]
    for name, field in fields.items():
        if name not in record:
            if "default" not in field:
                problems.append(f"{prefix}{name} (missing)")
        elif isinstance(record[name], Mapping):
            problems.extend(_name_problems(field["type"], record[name], f"{prefix}{name}."))
    return problems
