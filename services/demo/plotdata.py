"""What the report's plots show, taken from the events read back. Pure: the drawing is in
:mod:`services.demo.plots`.

- ``risk`` (scenarios 4 and 6): each account's equity (``account.updated``), the drawdown
  of the accounts that breach against the limit and the warning level, and the ESS state
  of the scopes that matter, with the warnings, triggers and resets marked.
- ``recovery`` (scenario 5): every line of the recovery history by subsystem and outcome.
- ``model`` (scenario 7): the model version each decision used, in decision order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from schemas.catalogue import (
    CIRCUIT_BREAKER_RESET,
    CIRCUIT_BREAKER_TRIGGERED,
    MARKET_PRICE,
    RISK_WARNING,
    SYSTEM_RECOVERY,
)
from services.demo.events import Decision, EventLog, drawdowns, equity_of
from services.demo.model import Marker, PlotData, PolicyReadSample, Series

ESS_LEVELS = ("ARMED", "COOLING_DOWN", "REDUCING", "TRIPPED")
RECOVERY_LEVELS = (
    "FAILURE_DETECTED",
    "ATTEMPT_SCHEDULED",
    "ATTEMPT_STARTED",
    "ATTEMPT_FAILED",
    "ATTEMPT_SUCCEEDED",
    "HEALTHY_AGAIN",
    "RECOVERED",
    "EXHAUSTED",
    "ESCALATED",
)
READ_LEVELS = ("failed", "view", "redis")


def risk_plot(  # noqa: PLR0913 - what the figure shows, each named
    log: EventLog,
    title: str,
    accounts: Sequence[str],
    breaching: Sequence[str],
    scopes: Sequence[str],
    limit: float,
    warn_fraction: float,
    prices: Sequence[str] = (),
) -> PlotData:
    equity = tuple(
        Series(a, tuple((s.at, equity_of(s)) for s in log.accounts(a))) for a in accounts
    )
    resets = log.of(CIRCUIT_BREAKER_RESET.name)
    drawdown = tuple(
        Series(
            a,
            tuple(
                drawdowns(
                    log.accounts(a),
                    [e.at for e in resets if e["account_id"] == a and e["rebase_peak"]],
                )
            ),
        )
        for a in breaching
    )
    states = tuple(Series(scope, _ess_steps(log, scope)) for scope in scopes)
    markers = [
        *(Marker(e.at, f"warning {e['account_id']}") for e in log.of(RISK_WARNING.name)),
        *(
            Marker(e.at, f"trigger {e['account_id']}")
            for e in log.of(CIRCUIT_BREAKER_TRIGGERED.name)
        ),
        *(Marker(e.at, f"reset {e['account_id']}") for e in log.of(CIRCUIT_BREAKER_RESET.name)),
    ]
    series = {"equity": equity, "drawdown": drawdown, "ess state": states}
    if prices:
        quotes = log.of(MARKET_PRICE.name)
        series["price"] = tuple(
            Series(sym, tuple((e.at, float(e["price"])) for e in quotes if e["symbol"] == sym))
            for sym in prices
        )
    return PlotData(
        kind="risk",
        title=title,
        series=series,
        limits={"drawdown": (("max_drawdown", limit), ("warning level", limit * warn_fraction))},
        markers=tuple(markers),
        levels={"ess state": ESS_LEVELS},
    )


def _ess_steps(log: EventLog, scope: str) -> tuple[tuple[int, float], ...]:
    """The scope's state after each transition, as the index in ESS_LEVELS; ARMED from the
    first account update until its first transition (a scope never written is ARMED), and
    the last state held until the last account update (a latched TRIPPED is a line, not
    a point)."""
    updates = [e.at for e in log.of("account.updated")]
    steps: list[tuple[int, float]] = []
    if updates:
        steps.append((min(updates), float(ESS_LEVELS.index("ARMED"))))
    for transition in log.transitions(scope):
        state = str(transition["state"])
        if state in ESS_LEVELS:
            steps.append((transition.at, float(ESS_LEVELS.index(state))))
    if updates and max(updates) > steps[-1][0]:
        steps.append((max(updates), steps[-1][1]))
    return tuple(steps)


def recovery_plot(
    log: EventLog, reads: Sequence[PolicyReadSample], marks: Mapping[str, int] | None = None
) -> PlotData:
    """Every recovery line by subsystem and outcome, the policy reads' source, and the
    script's moments (``redis killed``, ``broker killed``...) marked."""
    lines = log.of(SYSTEM_RECOVERY.name)
    by_subsystem: dict[str, list[tuple[int, float]]] = {}
    for line in lines:
        outcome = str(line["outcome"])
        if outcome in RECOVERY_LEVELS:
            by_subsystem.setdefault(str(line["subsystem"]), []).append(
                (line.at, float(RECOVERY_LEVELS.index(outcome)))
            )
    sources = tuple((read.at, float(READ_LEVELS.index(read.source or "failed"))) for read in reads)
    return PlotData(
        kind="recovery",
        title="Recovery history (system.recovery) and policy reads",
        series={
            "recovery": tuple(Series(name, tuple(points)) for name, points in by_subsystem.items()),
            "policy reads": (Series("policy read source", sources),),
        },
        levels={"recovery": RECOVERY_LEVELS, "policy reads": READ_LEVELS},
        markers=tuple(Marker(at, name) for name, at in (marks or {}).items()),
    )


MODEL_OUTCOMES = ("other refusal", "UNKNOWN_MODEL_VERSION", "ACCEPTED")


def model_plot(
    decisions: Sequence[Decision],
    model: str,
    versions: Sequence[str],
    markers: Sequence[Marker] = (),
) -> PlotData:
    """Each decision's model version and outcome over time, per account; the promotions
    and rollbacks marked."""
    accounts = sorted({d.account for d in decisions})
    by_version = tuple(
        Series(
            account,
            tuple(
                (d.at, float(versions.index(str(d.event.get("model_version")))))
                for d in decisions
                if d.account == account and str(d.event.get("model_version")) in versions
            ),
        )
        for account in accounts
    )
    outcomes = tuple(
        Series(
            account,
            tuple((d.at, float(_outcome_level(d))) for d in decisions if d.account == account),
        )
        for account in accounts
    )
    return PlotData(
        kind="model",
        title=f"Scenario 7: the {model} version each decision used",
        series={"model version": by_version, "decision": outcomes},
        levels={"model version": tuple(f"v{v}" for v in versions), "decision": MODEL_OUTCOMES},
        markers=tuple(markers),
    )


def _outcome_level(d: Decision) -> int:
    if d.outcome in MODEL_OUTCOMES:
        return MODEL_OUTCOMES.index(d.outcome)
    return 0
