"""Every closed set of hfos, shared by the Avro schemas and the Python code.

Each class here has an Avro enum of the same name in ``schemas/avro`` with exactly these
symbols, in this order (a test checks it). The Python value *is* the Avro symbol, so a
decoded record maps onto the enum with ``Enum(value)`` and nothing is spelled twice.
"""

from __future__ import annotations

from enum import StrEnum


class ProfileName(StrEnum):
    """The risk profiles of SPEC §2; any other name is refused."""

    AGGRESSIVE_SMALL_ACCOUNT = "aggressive_small_account"
    NORMAL = "normal"
    DEFENSIVE = "defensive"


class PolicyCommandKind(StrEnum):
    """What a ``policy.command`` asks for."""

    SET = "SET"
    ACTIVATE = "ACTIVATE"


class StrategyName(StrEnum):
    """The strategy presets of SPEC §5."""

    CONSERVATIVE = "conservative"
    MODERATE = "moderate"
    AGGRESSIVE = "aggressive"
    DEFENSIVE = "defensive"


class PositionSide(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class SignalAction(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    CLOSE = "CLOSE"


class AccountUpdateReason(StrEnum):
    """What changed an account at the venue (``account.updated``)."""

    FUNDING = "FUNDING"
    FILL = "FILL"
    MARK = "MARK"
    TRANSFER = "TRANSFER"
    SNAPSHOT = "SNAPSHOT"


class ExitReason(StrEnum):
    TAKE_PROFIT = "TAKE_PROFIT"
    STOP_LOSS = "STOP_LOSS"
    MANUAL = "MANUAL"
    SIGNAL = "SIGNAL"
    LIQUIDATION = "LIQUIDATION"
    EMERGENCY = "EMERGENCY"


class ExecutionFailure(StrEnum):
    """Why a venue could not execute an order (``order.failed``)."""

    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    NOTHING_TO_REDUCE = "NOTHING_TO_REDUCE"


class DenyReason(StrEnum):
    """Why the executor refused a signal (``order.rejected``)."""

    ESS_TRIPPED = "ESS_TRIPPED"
    ESS_REDUCING = "ESS_REDUCING"
    BELOW_MIN_CONFIDENCE = "BELOW_MIN_CONFIDENCE"
    MAX_OPEN_POSITIONS = "MAX_OPEN_POSITIONS"
    SIZE_CAP = "SIZE_CAP"
    LEVERAGE_CAP = "LEVERAGE_CAP"
    COOLDOWN = "COOLDOWN"
    """The old name of SYMBOL_COOLDOWN: never produced any more, kept so that records
    written before the rename stay readable (removing an Avro enum symbol breaks
    BACKWARD compatibility)."""
    POLICY_UNAVAILABLE = "POLICY_UNAVAILABLE"
    STATE_NOT_READY = "STATE_NOT_READY"
    STALE_CONTROL_STATE = "STALE_CONTROL_STATE"
    UNKNOWN_MODEL_VERSION = "UNKNOWN_MODEL_VERSION"
    NEW_POSITIONS_DISABLED = "NEW_POSITIONS_DISABLED"
    NO_POSITION_TO_CLOSE = "NO_POSITION_TO_CLOSE"
    NO_MARKET_PRICE = "NO_MARKET_PRICE"
    SYMBOL_COOLDOWN = "SYMBOL_COOLDOWN"
    """The strategy's per-symbol re-entry pause (SPEC §5 "cooldown s"): a symbol traded a
    moment ago waits before the next order. Not the emergency stop's COOLING_DOWN."""


class BreachRule(StrEnum):
    """Which limit a drawdown breach or warning is about."""

    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    DAILY_LOSS = "DAILY_LOSS"


class EssState(StrEnum):
    """Emergency-stop states of SPEC §4, from least to most restrictive for new risk."""

    DISABLED = "DISABLED"
    ARMED = "ARMED"
    COOLING_DOWN = "COOLING_DOWN"
    REDUCING = "REDUCING"
    TRIPPED = "TRIPPED"


class EssTrigger(StrEnum):
    """What caused an emergency-stop transition."""

    CIRCUIT_BREAKER = "CIRCUIT_BREAKER"
    DAILY_LOSS = "DAILY_LOSS"
    EXECUTION_ERRORS = "EXECUTION_ERRORS"
    STALE_DATA = "STALE_DATA"
    SUPERVISOR_ESCALATION = "SUPERVISOR_ESCALATION"
    FLASH_CRASH = "FLASH_CRASH"
    MANUAL = "MANUAL"
    RESET = "RESET"
    COOLDOWN_ELAPSED = "COOLDOWN_ELAPSED"


class EssCommandKind(StrEnum):
    """What an ``ess.command`` asks for."""

    TRIP = "TRIP"
    REDUCE = "REDUCE"
    RESET = "RESET"
    DISABLE = "DISABLE"
    END_COOLDOWN = "END_COOLDOWN"
    """Sent by the ESS's cooldown timer to its own command topic: Faust lets only the
    agent that owns a table write it, so the timer asks instead of writing."""


class EssUnchangedReason(StrEnum):
    """Why an accepted ``ess.command`` changed nothing (``ess.unchanged``)."""

    ALREADY_APPLIED = "ALREADY_APPLIED"
    """The command's id was applied before (a redelivery, or the same command resent)."""
    AT_LEAST_AS_RESTRICTIVE = "AT_LEAST_AS_RESTRICTIVE"
    """TRIP or REDUCE of a scope whose state already refuses at least as much."""
    NOTHING_TO_RESET = "NOTHING_TO_RESET"
    """RESET of a scope that is ARMED, or COOLING_DOWN (a cooldown ends by itself)."""
    ALREADY_DISABLED = "ALREADY_DISABLED"
    COOLDOWN_NOT_DUE = "COOLDOWN_NOT_DUE"
    """The timer's END_COOLDOWN for a cooldown that has not elapsed or was superseded."""


class ScopeKind(StrEnum):
    GLOBAL = "global"
    ACCOUNT = "account"
    STRATEGY = "strategy"
    SYMBOL = "symbol"


class ModelFormat(StrEnum):
    """Model artifact formats. Consumers load ONNX only; JSON_LINEAR is kept for records
    written before ONNX and is refused (UNSUPPORTED_FORMAT). Nothing is ever unpickled."""

    JSON_LINEAR = "JSON_LINEAR"
    ONNX = "ONNX"


class FlashCrashScope(StrEnum):
    """Which scope a flash crash asks the emergency stop to restrict (policy)."""

    GLOBAL = "GLOBAL"
    AFFECTED = "AFFECTED"


class ModelLoadError(StrEnum):
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    FETCH_FAILED = "FETCH_FAILED"
    INVALID_ARTIFACT = "INVALID_ARTIFACT"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"


class RecoveryOutcome(StrEnum):
    """One line of the supervisor's recovery history."""

    FAILURE_DETECTED = "FAILURE_DETECTED"
    ATTEMPT_SCHEDULED = "ATTEMPT_SCHEDULED"
    ATTEMPT_SUCCEEDED = "ATTEMPT_SUCCEEDED"
    ATTEMPT_FAILED = "ATTEMPT_FAILED"
    EXHAUSTED = "EXHAUSTED"
    ESCALATED = "ESCALATED"
    ATTEMPT_STARTED = "ATTEMPT_STARTED"
    HEALTHY_AGAIN = "HEALTHY_AGAIN"
    RECOVERED = "RECOVERED"


class RecoveryAction(StrEnum):
    """How the supervisor recovers a subsystem."""

    CHILD_PROCESS = "CHILD_PROCESS"
    STACK_PART = "STACK_PART"
    PLATFORM = "PLATFORM"


class RecoveryPhase(StrEnum):
    """Where a subsystem's failure episode stands (``services.supervisor.episode``)."""

    HEALTHY = "HEALTHY"
    WAITING = "WAITING"
    ATTEMPTING = "ATTEMPTING"
    STABILIZING = "STABILIZING"
    EXHAUSTED = "EXHAUSTED"


class ServiceStatus(StrEnum):
    STARTING = "STARTING"
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    STOPPING = "STOPPING"
