"""The key rule every consumer checks, beside the value's: a key is UTF-8 text, and on a
topic whose key names a value field (``account_id`` on account topics, ``scope`` on the
ESS's, …) it is present and equal to that field.

A record keyed otherwise sits on another key's partition — out of order with the rest of
its account's events, possibly on another worker — so it is refused to the DLQ with
:class:`InvalidKeyError`, like an undecodable value, and nothing else is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.names import shown
from schemas.serde import Contract, SerdeError


class InvalidKeyError(SerdeError):
    """A record key that is not UTF-8, missing, or not its value's ``field``."""

    def __init__(self, topic: str, problem: str, field: str | None = None) -> None:
        super().__init__(topic, f"record key {problem}")
        self.field = field


def decode_key(topic: str, raw: bytes | str | None) -> str | None:
    """The key as text; :class:`InvalidKeyError` when its bytes are not UTF-8."""
    if raw is None or isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        head = raw[:32].hex()
        raise InvalidKeyError(
            topic, f"is not UTF-8 ({error.reason} at byte {error.start}; bytes {head})"
        ) from None


def check_key(target: Contract, key: str | None, value: Mapping[str, Any]) -> None:
    """:class:`InvalidKeyError` unless ``key`` is what ``target``'s topic says it must be."""
    field, topic = target.key_field, target.topic
    if field is None:
        return
    if key is None:
        raise InvalidKeyError(topic, f"is missing; it must be the value's {field}", field)
    expected = str(value.get(field))
    if key != expected:
        raise InvalidKeyError(
            topic, f"{shown(key)} is not the value's {field} {shown(expected)}", field
        )
