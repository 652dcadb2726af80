"""The risk-profile field table of SPEC §2, as data: name, type and valid range.

Validation, CLI parsing and documentation all read this one table, so a range is written
once. Bounds are open or closed exactly as in the SPEC (``(0, 125]`` excludes 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeAlias

from streams.policy.exceptions import PolicyValidationError

FieldValue: TypeAlias = float | int | bool | str
"""A validated profile value: ``float`` fields are always ``float`` (never ``int``); a
``str`` field holds one of its ``choices`` (the symbols of an Avro enum)."""


@dataclass(frozen=True)
class FieldSpec:
    """One row of the table. ``low``/``high`` of ``None`` mean unbounded on that side."""

    name: str
    kind: type[float] | type[int] | type[bool] | type[str]
    low: float | None = None
    high: float | None = None
    low_closed: bool = True
    high_closed: bool = True
    required: bool = True
    """False for the settings outside the SPEC §2 table (flash crash, cooldown): a record
    without them takes the default profile's value (they are not on the wire yet)."""
    choices: tuple[str, ...] = ()
    """The allowed values of a ``str`` field, as they travel (Avro enum symbols)."""
    hashed_at_default: bool = True
    """False for a field added after profiles were first hashed: at its default value it is
    left out of the hashed document, so every version written before the field existed
    still verifies, and a profile that never set it keeps its hash."""

    @property
    def allowed(self) -> str:
        """The valid values as an operator would read them, e.g. ``a number in (0, 125]``."""
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "one of " + ", ".join(self.choices)
        noun = "a whole number" if self.kind is int else "a finite number"
        if self.high is None:
            sign = ">=" if self.low_closed else ">"
            return f"{noun} {sign} {_fmt(self.low)}"
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"{noun} in {left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def coerce(self, value: object) -> FieldValue:
        """``value`` as this field's type, or :class:`PolicyValidationError`.

        ``bool`` is refused for numbers (``True`` is an ``int`` to Python, not a leverage)
        and strings are refused everywhere: text from a CLI goes through
        :mod:`streams.policy.parse` first.
        """
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            raise self._refuse(value, "not a boolean")
        if self.kind is str:
            if isinstance(value, str) and value in self.choices:
                return value
            raise self._refuse(value, "not an allowed value")
        number = self._number(value)
        if not math.isfinite(number):
            raise self._refuse(value, "not a finite number")
        if not self._in_range(number):
            raise self._refuse(value, "out of range")
        return number

    def _number(self, value: object) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._refuse(value, f"wrong type {type(value).__name__}")
        if self.kind is int:
            if not isinstance(value, int):
                raise self._refuse(value, "not a whole number")
            return value
        # + 0.0 turns -0.0 into 0.0 (IEEE 754: -0 + +0 = +0) and leaves every other
        # number as it is: min_confidence=-0 and =0 are one value, stored and hashed alike.
        return float(value) + 0.0

    def _in_range(self, number: float) -> bool:
        low_ok = self.low is None or (number >= self.low if self.low_closed else number > self.low)
        high_ok = self.high is None or (
            number <= self.high if self.high_closed else number < self.high
        )
        return low_ok and high_ok

    def _refuse(self, value: object, problem: str) -> PolicyValidationError:
        return PolicyValidationError(self.name, value, self.allowed, problem)


def _fmt(bound: float | None) -> str:
    return f"{bound:g}"


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("max_leverage", float, 0, 125, low_closed=False),
    FieldSpec("max_risk_per_trade", float, 0, 1, low_closed=False),
    FieldSpec("max_daily_loss", float, 0, 1, low_closed=False),
    FieldSpec("max_drawdown", float, 0, 1, low_closed=False),
    FieldSpec("warn_fraction", float, 0, 1, low_closed=False, high_closed=False),
    FieldSpec("breach_confirmations", int, 1, 10),
    FieldSpec("max_open_positions", int, 1, 100),
    FieldSpec("min_confidence", float, 0, 1),
    FieldSpec("position_size_cap", float, 0, None, low_closed=False),
    FieldSpec("allow_new_positions", bool),
    FieldSpec("stale_after_seconds", int, 1, 3600),
    # SPEC §6: "a drop of >= 3 % within 10 s by default, from policy".
    FieldSpec("flash_crash_drop", float, 0, 1, low_closed=False, required=False),
    FieldSpec("flash_crash_window_seconds", int, 1, 3600, required=False),
    # SPEC §4: cooldown after a reset, default 15 min; capped at one day, since a longer
    # cooldown is a TRIPPED scope in disguise.
    FieldSpec("ess_cooldown_seconds", int, 1, 86_400, required=False),
    # SPEC §7: the state the supervisor asks of the global scope when a critical subsystem
    # exhausts its recovery attempts or stays silent past its bound. Only the two states
    # a system trigger may ask for (streams/ess/triggers.py).
    FieldSpec(
        "supervisor_escalation_state",
        str,
        choices=("REDUCING", "TRIPPED"),
        required=False,
        hashed_at_default=False,
    ),
    # SPEC §6: what the position monitor's flash-crash detector asks of the ESS, and of
    # which scope: the whole desk (GLOBAL, SPEC §9's black swan) or only what crashed
    # (AFFECTED: symbol:<sym> for a price, account:<id> for an equity).
    FieldSpec(
        "flash_crash_state",
        str,
        choices=("REDUCING", "TRIPPED"),
        required=False,
        hashed_at_default=False,
    ),
    FieldSpec(
        "flash_crash_scope",
        str,
        choices=("GLOBAL", "AFFECTED"),
        required=False,
        hashed_at_default=False,
    ),
)

FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
