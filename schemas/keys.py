"""Every Redis key and Faust table name hfos uses (STYLE.md: one place for names)."""

from __future__ import annotations

ACCOUNTS_TABLE = "accounts"
"""Faust table: account id -> the drawdown breaker's state of that account."""

ESS_TABLE = "ess"
"""Faust table: scope -> the emergency stop's state of that scope."""

EXECUTION_ERRORS_TABLE = "execution_errors"
"""Faust table: account id -> the newest execution errors of that account (``order.failed``
times and event ids), for the emergency stop's execution-error trigger."""

MODELS_TABLE = "models"
"""Faust table of the promotion coordinator: ``model:<name>`` -> the model's latest
promotion and its verdict, ``acks:<promotion id>`` -> the acknowledgements and refusals
of that promotion, ``consumer:<service>/<instance>`` -> what a model consumer registered
(from its heartbeats)."""

POLICY_TABLE = "policy"
"""Faust table: ``profile:<name>`` -> latest policy.updated record, ``active:<scope>`` ->
latest policy.activated record."""


def policy_cache_key(topic_prefix: str, key: str) -> str:
    """Redis key of a policy-table key (``profile:normal``, ``active:global``) under the
    deployment's topic prefix, so that isolated deployments share no cache entries."""
    return f"hfos:{topic_prefix}policy:{key}"


STREAMS_APP = "hfos-streams"
"""The stream worker's Faust app id (its consumer group) without the topic prefix."""


def streams_app_id(topic_prefix: str) -> str:
    """The default app id of a deployment's stream workers: tables' changelog topics are
    named after it (``<app id>-accounts-changelog``)."""
    return f"{topic_prefix}{STREAMS_APP}"
