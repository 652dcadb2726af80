"""Policy versions and activations as the Avro records of ``policy.updated`` and
``policy.activated`` (and back), and the key names the policy table and cache use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.enums import PolicyCommandKind, ProfileName
from schemas.envelope import envelope
from streams.policy.profile import RiskProfile
from streams.policy.version import PolicyVersion, verify_hash

_META = ("envelope", "profile", "version", "hash", "author", "reason")


@dataclass(frozen=True)
class Activation:
    """Which profile is active for a scope; ``version`` is the scope's activation version."""

    scope: str
    profile: ProfileName
    profile_version: int
    profile_hash: str
    version: int
    by: str
    reason: str
    at: int


@dataclass(frozen=True)
class Unchanged:
    """A command that would change nothing: what is in force, and why nothing changed."""

    kind: PolicyCommandKind
    scope: str
    version: int
    """The profile's version for a SET; the scope's activation version for an ACTIVATE."""
    in_force: PolicyVersion
    detail: str


def version_record(
    version: PolicyVersion, producer: str, command_id: str | None, event_id: str | None = None
) -> dict[str, Any]:
    """The ``policy.updated`` record of ``version``."""
    return {
        "envelope": envelope(
            producer,
            version.created_at,
            event_id=event_id,
            correlation_id=command_id,
            causation_id=command_id,
        ),
        "profile": version.profile.value,
        "version": version.version,
        "hash": version.hash,
        "author": version.author,
        "reason": version.reason,
        **version.values.values(),
    }


def version_from_record(record: Mapping[str, Any]) -> PolicyVersion:
    """The :class:`PolicyVersion` a ``policy.updated`` record carries; its hash verified."""
    values = {key: value for key, value in record.items() if key not in _META}
    version = PolicyVersion(
        profile=ProfileName(record["profile"]),
        version=int(record["version"]),
        hash=str(record["hash"]),
        author=str(record["author"]),
        reason=str(record["reason"]),
        values=RiskProfile(**values),
        created_at=int(record["envelope"]["event_time"]),
    )
    verify_hash(version)
    return version


def activation_record(
    activation: Activation, producer: str, command_id: str | None, event_id: str | None = None
) -> dict[str, Any]:
    """The ``policy.activated`` record of ``activation``."""
    return {
        "envelope": envelope(
            producer,
            activation.at,
            event_id=event_id,
            correlation_id=command_id,
            causation_id=command_id,
        ),
        "scope": activation.scope,
        "profile": activation.profile.value,
        "profile_version": activation.profile_version,
        "profile_hash": activation.profile_hash,
        "version": activation.version,
        "by": activation.by,
        "reason": activation.reason,
    }


def activation_from_record(record: Mapping[str, Any]) -> Activation:
    return Activation(
        scope=str(record["scope"]),
        profile=ProfileName(record["profile"]),
        profile_version=int(record["profile_version"]),
        profile_hash=str(record["profile_hash"]),
        version=int(record["version"]),
        by=str(record["by"]),
        reason=str(record["reason"]),
        at=int(record["envelope"]["event_time"]),
    )


def profile_key(profile: str) -> str:
    """Key of a profile's latest version in the policy table and the Redis cache."""
    return f"profile:{profile}"


def active_key(scope: str) -> str:
    """Key of a scope's activation in the policy table and the Redis cache."""
    return f"active:{scope}"


def unchanged_record(
    unchanged: Unchanged, producer: str, command_id: str, event_id: str, now: int
) -> dict[str, Any]:
    """The ``policy.unchanged`` answer to a command that wrote nothing."""
    return {
        "envelope": envelope(
            producer, now, event_id=event_id, correlation_id=command_id, causation_id=command_id
        ),
        "kind": unchanged.kind.value,
        "profile": unchanged.in_force.profile.value,
        "scope": unchanged.scope,
        "version": unchanged.version,
        "profile_version": unchanged.in_force.version,
        "hash": unchanged.in_force.hash,
        "detail": unchanged.detail,
    }
