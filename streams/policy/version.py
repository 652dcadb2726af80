"""Immutable, versioned risk-profile records, their hash, and compare-and-set writes.

What is hashed, exactly: the UTF-8 bytes of the JSON object ``{"profile": <name>, <field>:
<value>, ...}`` holding the profile name and every field of :class:`RiskProfile` (the
SPEC §2 table plus ``flash_crash_drop``, ``flash_crash_window_seconds`` and
``ess_cooldown_seconds``), with keys sorted, no whitespace (separators ``,`` and ``:``),
floats written by ``float.__repr__`` (``0.1`` -> ``0.1``, ``5.0`` -> ``5.0``) with
negative zero written as ``0.0`` (``-0`` and ``0`` are one value), integers as digits,
booleans as ``true``/``false`` and enum symbols as strings. A field added after profiles
were first hashed (``supervisor_escalation_state``) is in the document only when it
differs from its default, so every hash written before it existed still verifies. The
version number, author, reason and creation time are NOT hashed: the hash names the
values a decision was made with, so two versions with equal values share a hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from schemas.enums import ProfileName
from streams.policy.exceptions import (
    HashMismatchError,
    InvalidPolicyError,
    PolicyValidationError,
    StaleVersionError,
)
from streams.policy.fields import FIELDS_BY_NAME, FieldValue
from streams.policy.profile import DEFAULT_PROFILES, RiskProfile, profile_name, validate_changes

_TEXT = "a non-empty string"


@dataclass(frozen=True)
class PolicyVersion:
    """One version of one profile, as carried by ``policy.updated``.

    ``created_at`` is epoch milliseconds (UTC), like every event time in hfos.
    """

    profile: ProfileName
    version: int
    hash: str
    author: str
    reason: str
    values: RiskProfile
    created_at: int


def canonical_json(profile: ProfileName, values: RiskProfile) -> str:
    """The exact text that is hashed (see the module docstring)."""
    return _dumps(profile, {name: _canonical(v) for name, v in _hashed(values).items()})


def _canonical(value: FieldValue) -> FieldValue:
    return value + 0.0 if isinstance(value, float) else value  # -0.0 + 0.0 is 0.0


def _dumps(profile: ProfileName, values: Mapping[str, FieldValue]) -> str:
    document = {"profile": profile.value, **values}
    # json writes floats with float.__repr__, the shortest text that round-trips.
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _hashed(values: RiskProfile) -> dict[str, FieldValue]:
    defaults = {field.name: field.default for field in fields(RiskProfile)}
    return {
        name: value
        for name, value in values.values().items()
        if FIELDS_BY_NAME[name].hashed_at_default or value != defaults[name]
    }


def policy_hash(profile: ProfileName, values: RiskProfile) -> str:
    """sha256 (lowercase hex) of :func:`canonical_json`."""
    return _sha256(canonical_json(profile, values))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_hash(version: PolicyVersion) -> None:
    """Refuse a record whose hash does not match its values (:class:`HashMismatchError`).

    A version written before negative zero was canonical may carry the hash of ``-0.0``
    for a zero field (only ``min_confidence`` can be 0): that hash is accepted too, so a
    live profile does not become unreadable — and new risk refused — on upgrade."""
    computed = policy_hash(version.profile, version.values)
    if computed != version.hash and version.hash not in _legacy_hashes(version):
        raise HashMismatchError(version.profile, version.version, version.hash, computed)


def _legacy_hashes(version: PolicyVersion) -> set[str]:
    values = _hashed(version.values)
    zeros = [name for name, v in values.items() if isinstance(v, float) and v == 0.0]
    if not zeros:
        return set()
    return {_sha256(_dumps(version.profile, {**values, **dict.fromkeys(zeros, -0.0)}))}


def apply_change(
    current: PolicyVersion | None,
    expected_version: int | None,
    changes: Mapping[str, object],
    *,
    author: str,
    reason: str,
    now: int,
    profile: str | None = None,
) -> PolicyVersion:
    """The next version of a profile, or an error; never a partial write.

    ``expected_version`` is compare-and-set: it must equal the current version, where no
    version yet counts as ``0`` (``None`` means the same). The first version of a profile
    starts from its SPEC §2 default and ``profile`` names it; later versions start from
    ``current``. Invalid values, author or reason are refused together
    (:class:`InvalidPolicyError`) before the version check (:class:`StaleVersionError`).
    """
    name = _target_profile(current, profile)
    errors = _text_errors(author=author, reason=reason)
    try:
        typed = validate_changes(name.value, changes)
    except InvalidPolicyError as invalid:
        errors.extend(invalid.errors)
        typed = {}
    if errors:
        raise InvalidPolicyError(name.value, errors)
    actual = 0 if current is None else current.version
    if (expected_version or 0) != actual:
        raise StaleVersionError(name.value, expected_version, actual)
    base = DEFAULT_PROFILES[name] if current is None else current.values
    values = replace(base, **typed)  # type: ignore[arg-type]  # names and types validated
    return PolicyVersion(
        profile=name,
        version=actual + 1,
        hash=policy_hash(name, values),
        author=author,
        reason=reason,
        values=values,
        created_at=now,
    )


def _target_profile(current: PolicyVersion | None, profile: str | None) -> ProfileName:
    if current is None:
        if profile is None:
            raise InvalidPolicyError(
                "(none)", [PolicyValidationError("profile", None, "a profile name", "missing")]
            )
        try:
            return profile_name(profile)
        except PolicyValidationError as error:
            raise InvalidPolicyError(profile, [error]) from None
    if profile is not None and profile != current.profile.value:
        raise InvalidPolicyError(
            profile,
            [PolicyValidationError("profile", profile, current.profile.value, "not current's")],
        )
    return current.profile


def _text_errors(**texts: str) -> list[PolicyValidationError]:
    return [
        PolicyValidationError(field, text, _TEXT, "blank")
        for field, text in texts.items()
        if not text.strip()
    ]
