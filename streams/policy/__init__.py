"""Policy store core: risk profiles, their validation, hashing and compare-and-set writes.

Pure: no Kafka, no Redis, no clock. The stream app feeds it commands and the current
version from its table; the CLI feeds it ``FIELD=VALUE`` text through :mod:`.parse`.
"""

from streams.policy.exceptions import (
    HashMismatchError,
    InvalidPolicyError,
    PolicyError,
    PolicyValidationError,
    StaleVersionError,
    UnknownProfileError,
)
from streams.policy.fields import FIELDS, FIELDS_BY_NAME, FieldSpec, FieldValue
from streams.policy.parse import parse_assignment, parse_assignments, parse_value
from streams.policy.profile import (
    DEFAULT_PROFILES,
    RiskProfile,
    profile_name,
    validate_changes,
    validate_record,
)
from streams.policy.version import (
    PolicyVersion,
    apply_change,
    canonical_json,
    policy_hash,
    verify_hash,
)

__all__ = [
    "DEFAULT_PROFILES",
    "FIELDS",
    "FIELDS_BY_NAME",
    "FieldSpec",
    "FieldValue",
    "HashMismatchError",
    "InvalidPolicyError",
    "PolicyError",
    "PolicyValidationError",
    "PolicyVersion",
    "RiskProfile",
    "StaleVersionError",
    "UnknownProfileError",
    "apply_change",
    "canonical_json",
    "parse_assignment",
    "parse_assignments",
    "parse_value",
    "policy_hash",
    "profile_name",
    "validate_changes",
    "validate_record",
    "verify_hash",
]
