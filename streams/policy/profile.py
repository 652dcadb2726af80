"""Risk profiles: the values, the three defaults of SPEC §2, and their validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

from schemas.enums import ProfileName
from streams.policy.exceptions import (
    InvalidPolicyError,
    PolicyValidationError,
    UnknownProfileError,
)
from streams.policy.fields import FIELDS, FIELDS_BY_NAME, FieldValue

_PROFILE_NAMES = "one of " + ", ".join(name.value for name in ProfileName)
_FIELD_NAMES = "a field among " + ", ".join(FIELDS_BY_NAME)


@dataclass(frozen=True)
class RiskProfile:
    """The values of one risk profile version; constructing one validates every field."""

    max_leverage: float
    max_risk_per_trade: float
    max_daily_loss: float
    max_drawdown: float
    warn_fraction: float
    breach_confirmations: int
    max_open_positions: int
    min_confidence: float
    position_size_cap: float
    allow_new_positions: bool
    stale_after_seconds: int
    flash_crash_drop: float = 0.03
    flash_crash_window_seconds: int = 10
    ess_cooldown_seconds: int = 900
    supervisor_escalation_state: str = "REDUCING"
    flash_crash_state: str = "TRIPPED"
    flash_crash_scope: str = "GLOBAL"

    def __post_init__(self) -> None:
        coerced, errors = _coerce_all(self.values())
        if errors:
            raise InvalidPolicyError("(record)", errors)
        for name, value in coerced.items():
            # Normalise 5 -> 5.0 on float fields so the hash of equal profiles is equal.
            object.__setattr__(self, name, value)

    def values(self) -> dict[str, FieldValue]:
        """Every field by name, in the order of the field table."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def profile_name(name: str) -> ProfileName:
    """``name`` as a :class:`ProfileName`, or :class:`UnknownProfileError`."""
    try:
        return ProfileName(name)
    except ValueError:
        raise UnknownProfileError(name, _PROFILE_NAMES) from None


def validate_changes(profile: str, changes: Mapping[str, object]) -> dict[str, FieldValue]:
    """The changes, typed and range-checked, or one :class:`InvalidPolicyError` listing
    every problem (unknown profile, unknown field, wrong type, NaN/inf, out of range)."""
    errors: list[PolicyValidationError] = _profile_errors(profile)
    coerced, field_errors = _coerce_all(changes)
    errors.extend(field_errors)
    if errors:
        raise InvalidPolicyError(profile, errors)
    return coerced


def validate_record(profile: str, values: Mapping[str, object]) -> RiskProfile:
    """A full record as a :class:`RiskProfile`; every field of the SPEC §2 table is
    required, the flash-crash and cooldown settings default to the SPEC's numbers."""
    errors = _profile_errors(profile)
    coerced, field_errors = _coerce_all(values)
    errors.extend(field_errors)
    errors.extend(
        PolicyValidationError(spec.name, None, spec.allowed, "missing")
        for spec in FIELDS
        if spec.required and spec.name not in values
    )
    if errors:
        raise InvalidPolicyError(profile, errors)
    return RiskProfile(**coerced)  # type: ignore[arg-type]  # names and types checked above


def _profile_errors(profile: str) -> list[PolicyValidationError]:
    try:
        profile_name(profile)
    except UnknownProfileError as error:
        return [error]
    return []


def _coerce_all(
    values: Mapping[str, object],
) -> tuple[dict[str, FieldValue], list[PolicyValidationError]]:
    coerced: dict[str, FieldValue] = {}
    errors: list[PolicyValidationError] = []
    known = [spec for spec in FIELDS if spec.name in values]
    for spec in known:
        try:
            coerced[spec.name] = spec.coerce(values[spec.name])
        except PolicyValidationError as error:
            errors.append(error)
    errors.extend(
        PolicyValidationError(name, values[name], _FIELD_NAMES, "unknown field")
        for name in sorted(set(values) - set(FIELDS_BY_NAME))
    )
    return coerced, errors


# Defined last: constructing a profile validates it with the helpers above.
DEFAULT_PROFILES: Mapping[ProfileName, RiskProfile] = MappingProxyType(
    {
        ProfileName.AGGRESSIVE_SMALL_ACCOUNT: RiskProfile(
            max_leverage=7.0,
            max_risk_per_trade=0.03,
            max_daily_loss=0.06,
            max_drawdown=0.15,
            warn_fraction=0.8,
            breach_confirmations=1,
            max_open_positions=15,
            min_confidence=0.45,
            position_size_cap=300.0,
            allow_new_positions=True,
            stale_after_seconds=30,
        ),
        ProfileName.NORMAL: RiskProfile(
            max_leverage=5.0,
            max_risk_per_trade=0.015,
            max_daily_loss=0.05,
            max_drawdown=0.10,
            warn_fraction=0.8,
            breach_confirmations=1,
            max_open_positions=30,
            min_confidence=0.50,
            position_size_cap=1000.0,
            allow_new_positions=True,
            stale_after_seconds=30,
        ),
        ProfileName.DEFENSIVE: RiskProfile(
            max_leverage=3.0,
            max_risk_per_trade=0.0075,
            max_daily_loss=0.03,
            max_drawdown=0.06,
            warn_fraction=0.8,
            breach_confirmations=1,
            max_open_positions=10,
            min_confidence=0.60,
            position_size_cap=500.0,
            allow_new_positions=True,
            stale_after_seconds=30,
        ),
    }
)
