"""Errors of the policy store's pure core: every refusal names the field and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.errors import HfosError
from schemas.names import name_problem, shown


class PolicyError(HfosError):
    """Base of every policy error."""


def _brief(value: object) -> str:
    """``value`` as it is quoted in an error: a name as it is, any other text escaped to
    ASCII and cut (a 100 000-character field name is not repeated to the operator)."""
    if not isinstance(value, str):
        return repr(value)
    return value if name_problem(value) is None else shown(value)


class PolicyValidationError(PolicyError):
    """One field of a risk profile was refused.

    ``allowed`` is the valid range or type as an operator would write it (``"(0, 125]"``),
    so the message says what to send instead.
    """

    def __init__(self, field: str, value: object, allowed: str, problem: str = "") -> None:
        why = f" ({problem})" if problem else ""
        super().__init__(f"{_brief(field)}={_brief(value)} refused{why}: allowed {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed
        self.problem = problem


class UnknownProfileError(PolicyValidationError):
    """The profile name is not one of the risk profiles of SPEC §2."""

    def __init__(self, value: object, allowed: str) -> None:
        super().__init__("profile", value, allowed, "unknown profile")


class InvalidPolicyError(PolicyError):
    """Every problem of one write or record, reported together so one retry can fix all."""

    def __init__(self, profile: str, errors: Sequence[PolicyValidationError]) -> None:
        listed = "; ".join(str(error) for error in errors)
        super().__init__(f"policy {_brief(profile)} refused: {listed}")
        self.profile = profile
        self.errors = tuple(errors)

    @property
    def fields(self) -> tuple[str, ...]:
        """The refused fields, in the order they were checked."""
        return tuple(error.field for error in self.errors)


class StaleVersionError(PolicyError):
    """Compare-and-set failed: the writer expected a version that is no longer current.

    Nothing was written. Re-read the profile, re-apply the change on top of ``actual``.
    """

    def __init__(self, profile: str, expected: int | None, actual: int) -> None:
        super().__init__(
            f"policy {profile!r}: expected version {expected}, current is {actual}; "
            "nothing was written — re-read the profile and retry against the current version"
        )
        self.profile = profile
        self.expected = expected
        self.actual = actual


class HashMismatchError(PolicyError):
    """A policy version's ``hash`` does not match its values (corrupt or hand-edited record)."""

    def __init__(self, profile: str, version: int, claimed: str, computed: str) -> None:
        super().__init__(
            f"policy {profile!r} v{version}: hash {claimed} does not match its values "
            f"({computed}); the record is refused"
        )
        self.profile = profile
        self.version = version
        self.claimed = claimed
        self.computed = computed
