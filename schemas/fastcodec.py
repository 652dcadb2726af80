"""Per-schema Avro encoders and decoders, generated once as Python source.

fastavro's writer and reader walk the schema for every record; for hfos's small, flat
records that walk costs more than the bytes. ``compile_codec`` turns one parsed schema
(records, enums, maps, arrays, ``null``/``boolean``/``int``/``long``/``double``/``string``
and unions of them) into two straight-line functions, about twice as fast.

They are a fast path only, never the judge: the serde calls fastavro whenever a generated
function raises (a missing or extra field, a wrong type, a bad enum symbol, a value out of
range, bytes that do not parse), so every error a caller sees, and every record fastavro
would refuse, is exactly what fastavro says. The fast path only succeeds where its bytes
are fastavro's bytes — property-tested against fastavro for every hfos schema.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Encoder = Callable[[Mapping[str, Any]], bytes]
Decoder = Callable[[bytes, int], tuple[dict[str, Any], int]]

_DOUBLE = struct.Struct("<d")
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LOW7, _MORE = 0x7F, 0x80


class UnsupportedSchemaError(Exception):
    """A schema feature the generator does not handle: the serde uses fastavro alone."""


@dataclass(frozen=True)
class Codec:
    encode: Encoder
    decode: Decoder


def _write_long(value: int, out: bytearray) -> None:
    if 0 <= value < 64:  # noqa: PLR2004 - one zigzag byte: lengths, indexes, small counts
        out.append(value << 1)
        return
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise OverflowError(f"{value} out of the Avro long range")
    n = (value << 1) ^ (value >> 63)
    while n > _LOW7:
        out.append((n & _LOW7) | _MORE)
        n >>= 7
    out.append(n)


def _write_int(value: int, out: bytearray) -> None:
    if not _INT_MIN <= value <= _INT_MAX:
        raise OverflowError(f"{value} out of the Avro int range")
    _write_long(value, out)


def _write_string(value: str, out: bytearray) -> None:
    data = value.encode()
    _write_long(len(data), out)
    out += data


def _write_bool(value: bool, out: bytearray) -> None:
    if type(value) is not bool:
        raise TypeError(f"{value!r} is not a boolean")
    out.append(1 if value else 0)


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:  # noqa: PLR2004 - one byte: the common case
        return (byte >> 1) ^ -(byte & 1), pos + 1
    pos += 1
    n = byte & 0x7F
    shift = 7
    while byte & 0x80:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if shift > 70:  # noqa: PLR2004 - ten 7-bit groups hold any 64-bit zigzag value
            raise ValueError("varint longer than 10 bytes")
    return (n >> 1) ^ -(n & 1), pos


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = _read_long(data, pos)
    end = pos + size
    if size < 0 or end > len(data):
        raise ValueError("string runs past the end of the body")
    return data[pos:end].decode(), end


def _read_double(data: bytes, pos: int) -> tuple[float, int]:
    return _DOUBLE.unpack_from(data, pos)[0], pos + 8


def _read_bool(data: bytes, pos: int) -> tuple[bool, int]:
    byte = data[pos]
    if byte > 1:
        raise ValueError(f"boolean byte {byte}")
    return byte == 1, pos + 1


_HELPERS: dict[str, Any] = {
    "_write_long": _write_long,
    "_write_int": _write_int,
    "_write_string": _write_string,
    "_write_bool": _write_bool,
    "_pack_double": _DOUBLE.pack,
    "_read_long": _read_long,
    "_read_string": _read_string,
    "_read_double": _read_double,
    "_unpack_double": _DOUBLE.unpack_from,
    "_read_bool": _read_bool,
    "Mapping": Mapping,
}


class _Generator:
    def __init__(self, stem: str) -> None:
        self.stem = stem
        self.named: dict[str, Any] = {}
        self.constants: dict[str, Any] = {}
        self.lines: list[str] = []
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def constant(self, value: Any) -> str:
        name = self.fresh(f"_{self.stem}")
        self.constants[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, str) and schema in self.named:
            return self.named[schema]
        if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
            self.named[str(schema["name"])] = schema
        return schema

    # -- encoding ------------------------------------------------------------------------

    def encode(self, schema: Any, value: str, indent: int) -> None:  # noqa: C901
        schema = self.resolve(schema)
        if isinstance(schema, list):
            self.encode_union(schema, value, indent)
            return
        kind = schema if isinstance(schema, str) else schema.get("type")
        if kind == "null":
            self.emit(indent, f"if {value} is not None: raise TypeError('not null')")
        elif kind == "boolean":
            self.emit(indent, f"_write_bool({value}, out)")
        elif kind == "int":
            self.emit(indent, f"_write_int({value}, out)")
        elif kind == "long":
            self.emit(indent, f"_write_long({value}, out)")
        elif kind == "double":
            self.emit(indent, f"out += _pack_double({value})")
        elif kind == "string":
            self.emit(indent, f"_write_string({value}, out)")
        elif kind == "enum":
            index = self.constant({symbol: i for i, symbol in enumerate(schema["symbols"])})
            self.emit(indent, f"_write_long({index}[{value}], out)")
        elif kind == "record":
            self.encode_record(schema, value, indent)
        elif kind in ("map", "array"):
            self.encode_block(schema, value, indent, kind)
        elif isinstance(kind, (dict, list)):
            self.encode(kind, value, indent)
        else:
            raise UnsupportedSchemaError(repr(kind))

    def encode_record(self, schema: Any, value: str, indent: int) -> None:
        fields = schema["fields"]
        self.emit(indent, f"if not isinstance({value}, Mapping) or len({value}) != {len(fields)}:")
        self.emit(indent + 1, "raise KeyError('fields differ from the schema')")
        for field in fields:
            item = self.fresh("v")
            self.emit(indent, f"{item} = {value}[{field['name']!r}]")
            self.encode(field["type"], item, indent)

    def encode_block(self, schema: Any, value: str, indent: int, kind: str) -> None:
        self.emit(indent, f"if len({value}):")
        self.emit(indent + 1, f"_write_long(len({value}), out)")
        item = self.fresh("v")
        if kind == "map":
            key = self.fresh("k")
            self.emit(indent + 1, f"for {key}, {item} in {value}.items():")
            self.emit(indent + 2, f"_write_string({key}, out)")
            self.encode(schema["values"], item, indent + 2)
        else:
            self.emit(indent + 1, f"if isinstance({value}, (str, bytes, Mapping)):")
            self.emit(indent + 2, "raise TypeError('not an array')")
            self.emit(indent + 1, f"for {item} in {value}:")
            self.encode(schema["items"], item, indent + 2)
        self.emit(indent, "out.append(0)")

    def encode_union(self, branches: list[Any], value: str, indent: int) -> None:
        names = [b if isinstance(b, str) else b.get("type") for b in branches]
        if len(branches) != 2 or names[0] != "null":  # noqa: PLR2004 - [null, X] only
            raise UnsupportedSchemaError(f"union {names}")
        self.emit(indent, f"if {value} is None:")
        self.emit(indent + 1, "out.append(0)")
        self.emit(indent, "else:")
        self.emit(indent + 1, "out.append(2)")
        self.encode(branches[1], value, indent + 1)

    # -- decoding ------------------------------------------------------------------------

    def decode(self, schema: Any, target: str, indent: int) -> None:  # noqa: C901
        schema = self.resolve(schema)
        if isinstance(schema, list):
            self.decode_union(schema, target, indent)
            return
        kind = schema if isinstance(schema, str) else schema.get("type")
        if kind == "null":
            self.emit(indent, f"{target} = None")
        elif kind == "boolean":
            self.emit(indent, f"{target}, pos = _read_bool(data, pos)")
        elif kind in ("int", "long"):
            self.emit(indent, f"{target}, pos = _read_long(data, pos)")
        elif kind == "double":
            self.emit(indent, f"{target} = _unpack_double(data, pos)[0]")
            self.emit(indent, "pos += 8")
        elif kind == "string":
            self.emit(indent, f"{target}, pos = _read_string(data, pos)")
        elif kind == "enum":
            symbols = self.constant(tuple(schema["symbols"]))
            index = self.fresh("i")
            self.emit(indent, f"{index}, pos = _read_long(data, pos)")
            self.emit(indent, f"if {index} < 0: raise IndexError('negative enum index')")
            self.emit(indent, f"{target} = {symbols}[{index}]")
        elif kind == "record":
            record = self.fresh("r")
            self.emit(indent, f"{record} = {{}}")
            for field in schema["fields"]:
                item = self.fresh("v")
                self.decode(field["type"], item, indent)
                self.emit(indent, f"{record}[{field['name']!r}] = {item}")
            self.emit(indent, f"{target} = {record}")
        elif kind in ("map", "array"):
            self.decode_block(schema, target, indent, kind)
        elif isinstance(kind, (dict, list)):
            self.decode(kind, target, indent)
        else:
            raise UnsupportedSchemaError(repr(kind))

    def decode_block(self, schema: Any, target: str, indent: int, kind: str) -> None:
        result, count, item = self.fresh("m"), self.fresh("n"), self.fresh("v")
        self.emit(indent, f"{result} = {{}}" if kind == "map" else f"{result} = []")
        self.emit(indent, "while True:")
        self.emit(indent + 1, f"{count}, pos = _read_long(data, pos)")
        self.emit(indent + 1, f"if {count} == 0: break")
        self.emit(indent + 1, f"if {count} < 0:")
        self.emit(indent + 2, f"{count} = -{count}")
        self.emit(indent + 2, "_, pos = _read_long(data, pos)")
        self.emit(indent + 1, f"for _ in range({count}):")
        if kind == "map":
            key = self.fresh("k")
            self.emit(indent + 2, f"{key}, pos = _read_string(data, pos)")
            self.decode(schema["values"], item, indent + 2)
            self.emit(indent + 2, f"{result}[{key}] = {item}")
        else:
            self.decode(schema["items"], item, indent + 2)
            self.emit(indent + 2, f"{result}.append({item})")
        self.emit(indent, f"{target} = {result}")

    def decode_union(self, branches: list[Any], target: str, indent: int) -> None:
        names = [b if isinstance(b, str) else b.get("type") for b in branches]
        if len(branches) != 2 or names[0] != "null":  # noqa: PLR2004 - [null, X] only
            raise UnsupportedSchemaError(f"union {names}")
        branch = self.fresh("b")
        self.emit(indent, f"{branch}, pos = _read_long(data, pos)")
        self.emit(indent, f"if {branch} == 0:")
        self.emit(indent + 1, f"{target} = None")
        self.emit(indent, f"elif {branch} == 1:")
        self.decode(branches[1], target, indent + 1)
        self.emit(indent, "else:")
        self.emit(indent + 1, f"raise IndexError('union branch ' + str({branch}))")


def compile_codec(schema: Any) -> Codec:
    """Encoder and decoder for one fastavro-parsed schema (logical types already removed,
    as ``schemas.contracts`` parses them); :class:`UnsupportedSchemaError` otherwise."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise UnsupportedSchemaError("a record schema")
    named = dict(schema.get("__named_schemas", {}))
    writer = _Generator("w")
    writer.named.update(named)
    writer.emit(0, "def encode(record):")
    writer.emit(1, "out = bytearray()")
    writer.encode(schema, "record", 1)
    writer.emit(1, "return bytes(out)")
    reader = _Generator("r")
    reader.named.update(named)
    reader.emit(0, "def decode(data, pos):")
    reader.decode(schema, "result", 1)
    reader.emit(1, "return result, pos")
    namespace: dict[str, Any] = {**_HELPERS, **writer.constants, **reader.constants}
    exec(  # noqa: S102 - source generated above from a schema, no outside text
        compile("\n".join(writer.lines + reader.lines), f"<avro {schema.get('name')}>", "exec"),
        namespace,
    )
    return Codec(namespace["encode"], namespace["decode"])
