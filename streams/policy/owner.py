"""The policy owner's decision: a ``policy.command`` against the current state.

Pure. The stream app holds the state (its table) and applies commands one at a time in
the order of the single ``policy.command`` partition, so of two writers that expected
the same version exactly one wins; the other is refused with :class:`StaleVersionError`.

A version means a change: a SET whose values equal the current version's, or an ACTIVATE
of the profile already active, writes nothing and is answered :class:`Unchanged` (after
the same validation and compare-and-set as a write, so a stale or invalid no-op is still
refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.enums import PolicyCommandKind
from streams.policy.exceptions import InvalidPolicyError, PolicyValidationError, StaleVersionError
from streams.policy.parse import parse_assignments
from streams.policy.profile import profile_name
from streams.policy.records import Activation, Unchanged
from streams.policy.version import PolicyVersion, apply_change


@dataclass(frozen=True)
class PolicyState:
    """The latest version of each profile and the activation of each scope."""

    versions: Mapping[str, PolicyVersion]
    activations: Mapping[str, Activation]

    def active(self, scope: str = "global") -> PolicyVersion | None:
        """The latest version of the profile active for ``scope``; None if there is none."""
        activation = self.activations.get(scope)
        return None if activation is None else self.versions.get(activation.profile.value)


Decision = PolicyVersion | Activation | Unchanged


def decide(command: Mapping[str, Any], state: PolicyState, now: int) -> Decision:
    """The new version or activation ``command`` makes, :class:`Unchanged`, or a typed
    refusal."""
    kind = PolicyCommandKind(command["kind"])
    if kind is PolicyCommandKind.SET:
        return _set(command, state, now)
    return _activate(command, state, now)


def _set(command: Mapping[str, Any], state: PolicyState, now: int) -> PolicyVersion | Unchanged:
    profile = str(command["profile"])
    texts = [f"{field}={value}" for field, value in sorted(command["changes"].items())]
    changes = parse_assignments(profile, texts)
    current = state.versions.get(profile)
    written = apply_change(
        current,
        command.get("expected_version"),
        changes,
        author=str(command["by"]),
        reason=str(command["reason"]),
        now=now,
        profile=profile,
    )
    if current is not None and written.values == current.values:
        detail = f"{profile} v{current.version} already holds these values"
        return Unchanged(PolicyCommandKind.SET, "global", current.version, current, detail)
    return written


def _activate(command: Mapping[str, Any], state: PolicyState, now: int) -> Activation | Unchanged:
    profile = profile_name(str(command["profile"]))
    scope = str(command.get("scope") or "global")
    target = state.versions.get(profile.value)
    if target is None:
        problem = "has no version yet (the stream app seeds the defaults on first start)"
        raise InvalidPolicyError(
            profile.value,
            [
                PolicyValidationError(
                    "profile", profile.value, "a profile with at least one version", problem
                )
            ],
        )
    current = state.activations.get(scope)
    actual = 0 if current is None else current.version
    if (command.get("expected_version") or 0) != actual:
        raise StaleVersionError(f"activation of {scope}", command.get("expected_version"), actual)
    _require_text(command, profile.value)
    if current is not None and current.profile is profile:
        detail = f"{profile.value} is already active for {scope} (activation v{actual})"
        return Unchanged(PolicyCommandKind.ACTIVATE, scope, actual, target, detail)
    return Activation(
        scope=scope,
        profile=profile,
        profile_version=target.version,
        profile_hash=target.hash,
        version=actual + 1,
        by=str(command["by"]),
        reason=str(command["reason"]),
        at=now,
    )


def _require_text(command: Mapping[str, Any], profile: str) -> None:
    blank = [field for field in ("by", "reason") if not str(command.get(field) or "").strip()]
    if blank:
        raise InvalidPolicyError(
            profile,
            [
                PolicyValidationError(field, command.get(field), "a non-empty string", "blank")
                for field in blank
            ],
        )
