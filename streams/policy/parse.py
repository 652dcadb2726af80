"""CLI text (``FIELD=VALUE``) to typed profile values.

Parsing only turns text into the field's type; the range is checked by
:func:`streams.policy.profile.validate_changes`, so ``max_leverage=500`` parses and is then
refused with its range. ``nan`` and ``inf`` parse as floats and are refused there too.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.policy.exceptions import InvalidPolicyError, PolicyValidationError
from streams.policy.fields import FIELDS_BY_NAME, FieldSpec, FieldValue

_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})
_FIELD_NAMES = "a field among " + ", ".join(FIELDS_BY_NAME)


def parse_value(field: str, text: str) -> FieldValue:
    """``text`` as the type of ``field``, or :class:`PolicyValidationError` naming it."""
    spec = FIELDS_BY_NAME.get(field)
    if spec is None:
        raise PolicyValidationError(field, text, _FIELD_NAMES, "unknown field")
    cleaned = text.strip()
    if spec.kind is bool:
        return _parse_bool(spec, cleaned)
    if spec.kind is str:
        return _parse_choice(spec, cleaned)
    if spec.kind is int:
        return _parse_int(spec, cleaned)
    return _parse_float(spec, cleaned)


def parse_assignment(text: str) -> tuple[str, FieldValue]:
    """``"max_leverage=4.5"`` as ``("max_leverage", 4.5)``."""
    field, separator, value = text.partition("=")
    if not separator or not field.strip():
        raise PolicyValidationError(text, text, "FIELD=VALUE", "not an assignment")
    return field.strip(), parse_value(field.strip(), value)


def parse_assignments(profile: str, texts: Iterable[str]) -> dict[str, FieldValue]:
    """Every assignment parsed; all problems (bad text, unknown or repeated field) are
    raised together as one :class:`InvalidPolicyError`."""
    parsed: dict[str, FieldValue] = {}
    errors: list[PolicyValidationError] = []
    for text in texts:
        try:
            field, value = parse_assignment(text)
        except PolicyValidationError as error:
            errors.append(error)
            continue
        if field in parsed:
            errors.append(PolicyValidationError(field, value, "each field once", "repeated"))
        parsed[field] = value
    if errors:
        raise InvalidPolicyError(profile, errors)
    return parsed


def _parse_bool(spec: FieldSpec, text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise PolicyValidationError(spec.name, text, spec.allowed, "not a boolean")


def _parse_choice(spec: FieldSpec, text: str) -> str:
    """One of the field's choices, whatever the case it was typed in (``reducing``)."""
    upper = text.upper()
    if upper in spec.choices:
        return upper
    raise PolicyValidationError(spec.name, text, spec.allowed, "not an allowed value")


def _parse_int(spec: FieldSpec, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise PolicyValidationError(spec.name, text, spec.allowed, "not a whole number") from None


def _parse_float(spec: FieldSpec, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PolicyValidationError(spec.name, text, spec.allowed, "not a number") from None
