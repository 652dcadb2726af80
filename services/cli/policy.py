"""``hfos policy``: show, change and activate risk profiles (SPEC §2).

Every write is validated here first (a refusal names the field and its allowed range,
exits non-zero and sends nothing) and then decided by the stream app with
compare-and-set on the version, which is what makes one of two racing writers lose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import redis

from schemas.catalogue import POLICY_UPDATED
from schemas.enums import PolicyCommandKind, ProfileName
from services.bus.inspect import TailOptions, tail
from services.cli.context import Context
from services.policy.client import PolicyClient
from services.policy.store import PolicyStore
from services.policy.view import PolicyView
from streams import metrics
from streams.policy import apply_change, parse_assignments, profile_name
from streams.policy.exceptions import PolicyError, StaleVersionError
from streams.policy.version import PolicyVersion

pass_context = click.make_pass_decorator(Context, ensure=True)
PROFILES = click.Choice([p.value for p in ProfileName])


@click.group()
def policy() -> None:
    """Risk profiles: versioned, validated, compare-and-set."""


@contextmanager
def _view(ctx: Context) -> Iterator[PolicyView]:
    view = PolicyView(ctx.kafka, ctx.names, ctx.serde)
    try:
        if not view.wait_caught_up(30):
            raise click.ClickException("could not read the policy topics within 30 s")
        yield view
    finally:
        view.close()


@policy.command()
@click.argument("profile", required=False, type=PROFILES)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show(ctx: Context, profile: str | None, as_json: bool) -> None:
    """The active profile (or PROFILE): version, hash, values."""
    with _view(ctx) as view:
        client = redis.Redis.from_url(
            ctx.settings.redis_url.get_secret_value(),
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
        read = PolicyStore(client, view, ctx.settings.hfos_topic_prefix, reader="cli").active()
        version = read.version if profile is None else view.state().versions.get(profile)
    if version is None:
        raise click.ClickException(f"{profile} has no version yet (is a worker running?)")
    payload = _payload(version)
    payload["active"] = version.profile == read.activation.profile
    payload["source"] = read.source
    if as_json:
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(
        f"{version.profile.value} v{version.version}"
        f"{' (active)' if payload['active'] else ''} hash {version.hash[:16]}… "
        f"by {version.author}: {version.reason}"
    )
    for field, value in version.values.values().items():
        click.echo(f"  {field:28} {value}")


def _payload(version: PolicyVersion) -> dict[str, Any]:
    return {
        "profile": version.profile.value,
        "version": version.version,
        "hash": version.hash,
        "author": version.author,
        "reason": version.reason,
        "created_at": version.created_at,
        "values": version.values.values(),
    }


@policy.command(name="set")
@click.argument("profile")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--expect-version", type=int, help="Refuse unless this is the current version.")
@click.option("--by", required=True, help="Who makes the change.")
@click.option("--reason", required=True, help="Why.")
@pass_context
def set_(
    ctx: Context,
    profile: str,
    assignments: tuple[str, ...],
    expect_version: int | None,
    by: str,
    reason: str,
) -> None:
    """Change FIELD=VALUE… of PROFILE (validated here, compare-and-set by the owner)."""
    try:
        changes = parse_assignments(profile, assignments)  # refuses with field and range
    except PolicyError as refusal:
        metrics.POLICY_REFUSED_WRITES.labels(type(refusal).__name__).inc()
        raise
    with _view(ctx) as view:
        current = view.state().versions.get(profile)
    expected = expect_version if expect_version is not None else (current.version if current else 0)
    apply_change(current, expected, changes, author=by, reason=reason, now=0, profile=profile)
    answer = _client(ctx).submit(
        {
            "kind": PolicyCommandKind.SET.value,
            "profile": profile,
            "scope": "global",
            "changes": {field: _text(value) for field, value in changes.items()},
            "expected_version": expected,
            "by": by,
            "reason": reason,
        }
    )
    found = answer.record
    if answer.unchanged:
        click.echo(f"{profile} unchanged at v{found['profile_version']}: {found['detail']}")
        return
    click.echo(f"{profile} is now v{found['version']} (hash {found['hash'][:16]}…)")


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


@policy.command()
@click.argument("profile")
@click.option("--expect-version", type=int, help="Refuse unless this is the activation version.")
@click.option("--by", required=True)
@click.option("--reason", required=True)
@pass_context
def activate(ctx: Context, profile: str, expect_version: int | None, by: str, reason: str) -> None:
    """Make PROFILE the active one (compare-and-set on the activation version)."""
    profile_name(profile)  # refuses an unknown profile, naming the allowed ones
    with _view(ctx) as view:
        current = view.state().activations.get("global")
    actual = current.version if current else 0
    expected = expect_version if expect_version is not None else actual
    if expected != actual:
        raise StaleVersionError("activation of global", expected, actual)
    answer = _client(ctx).submit(
        {
            "kind": PolicyCommandKind.ACTIVATE.value,
            "profile": profile,
            "scope": "global",
            "changes": {},
            "expected_version": expected,
            "by": by,
            "reason": reason,
        }
    )
    found = answer.record
    if answer.unchanged:
        click.echo(f"{profile} unchanged: {found['detail']}")
        return
    click.echo(f"{profile} v{found['profile_version']} is active (activation v{found['version']})")


@policy.command()
@click.argument("profile", type=PROFILES)
@pass_context
def history(ctx: Context, profile: str) -> None:
    """Versions of PROFILE still in policy.updated (compaction keeps every version for at
    least an hour, and always the latest)."""
    topic = ctx.names.name(POLICY_UPDATED)
    options = TailOptions(from_beginning=True)
    for line in tail(ctx.kafka, ctx.names, ctx.serde, topic, options):
        value = line.get("value") or {}
        if value.get("profile") == profile:
            click.echo(
                f"v{value['version']} {value['envelope']['event_time']} "
                f"by {value['author']}: {value['reason']} hash {value['hash'][:16]}…"
            )


def _client(ctx: Context) -> PolicyClient:
    return PolicyClient(ctx.kafka, ctx.names, ctx.serde, ctx.producer)
