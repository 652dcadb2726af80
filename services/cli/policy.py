"""``hfos policy``: show, change and activate risk profiles (SPEC §2).

Every write is validated here first — types and ranges of every value, the profile, who
and why, the version — so a refusal names the field and its allowed range, exits
non-zero and touches no network (a NaN with the broker away is refused at once). It is
then decided by the stream app with compare-and-set on the version, which is what makes
one of two racing writers lose; a write that changes nothing is answered "unchanged" and
makes no version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from schemas.enums import PolicyCommandKind, ProfileName
from schemas.errors import HfosError
from services.cli.context import Context
from services.cli.output import dumps, iso, printable
from services.cli.params import BY, REASON, VERSION
from streams.policy import parse_assignments, profile_name, validate_changes
from streams.policy.exceptions import StaleVersionError
from streams.policy.fields import FIELDS

if TYPE_CHECKING:
    from services.bus.commands import Answer
    from services.policy.client import PolicyClient
    from services.policy.view import PolicyView
    from streams.policy.version import PolicyVersion

pass_context = click.make_pass_decorator(Context, ensure=True)
PROFILES = click.Choice([p.value for p in ProfileName])
VIEW_SECONDS = 15.0
"""Waiting longer for a broker that does not answer only delays telling the operator."""


class PolicyUnreadableError(HfosError):
    """The policy topics could not be read to their end."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"could not read the policy topics within {seconds:.0f} s: is the broker up "
            "(hfos stack status) and are the topics provisioned (hfos topics create)?"
        )


@click.group()
def policy() -> None:
    """Risk profiles: versioned, validated, compare-and-set."""


@contextmanager
def _view(ctx: Context) -> Iterator[PolicyView]:
    from services.policy.view import PolicyView  # noqa: PLC0415 - start-up time

    view = PolicyView(ctx.kafka, ctx.names, ctx.serde)
    try:
        if not view.wait_caught_up(VIEW_SECONDS):
            raise PolicyUnreadableError(VIEW_SECONDS)
        yield view
    finally:
        view.close()


@policy.command()
@click.argument("profile", required=False, type=PROFILES)
@click.option("--json", "as_json", is_flag=True, help="JSON; times in ISO-8601 UTC.")
@click.option(
    "--cache",
    "check_cache",
    is_flag=True,
    help="Also read the Redis cache and say whether it holds what the topics hold.",
)
@pass_context
def show(ctx: Context, profile: str | None, as_json: bool, check_cache: bool) -> None:
    """The active profile (or PROFILE): version, hash, values (as ``policy set`` takes them).

    Read from the compacted topics, the source of truth, to their end; Redis is a cache for
    readers on the hot path (``--cache`` checks it)."""
    with _view(ctx) as view:
        state = view.state()
        cache = _cache_state(ctx, view) if check_cache else None
    active = state.active()
    version = active if profile is None else state.versions.get(profile)
    if version is None:
        raise click.ClickException(
            f"{profile or 'the active profile'} has no version yet "
            "(is a worker running? hfos worker)"
        )
    payload = _payload(version)
    payload["active"] = active is not None and version.profile == active.profile
    payload["source"] = "topics"
    if cache is not None:
        payload["cache"] = cache
    if as_json:
        click.echo(dumps(payload))
        return
    click.echo(
        f"{version.profile.value} v{version.version}"
        f"{' (active)' if payload['active'] else ''} hash {version.hash[:16]}… "
        f"at {payload['created_at']} by {printable(version.author)}: {printable(version.reason)}"
    )
    for field, value in version.values.values().items():
        click.echo(f"  {field:28} {_text(value)}")
    if cache is not None:
        click.echo(f"  (Redis cache: {cache})")


def _cache_state(ctx: Context, view: PolicyView) -> str:
    """Whether the Redis cache holds the active policy the topics hold."""
    import redis  # noqa: PLC0415 - start-up time: ~0.15 s, only when asked

    from services.policy.exceptions import PolicyUnavailableError  # noqa: PLC0415
    from services.policy.store import PolicyStore  # noqa: PLC0415 - start-up time

    client = redis.Redis.from_url(
        ctx.settings.redis_url.get_secret_value(), socket_timeout=0.5, socket_connect_timeout=0.5
    )
    store = PolicyStore(client, view, ctx.settings.hfos_topic_prefix, reader="cli")
    try:
        read = store.active()
    except PolicyUnavailableError:
        return "no active policy in Redis or the topics"
    return "in sync" if read.source == "redis" else "behind the topics, or unreachable"


def _payload(version: PolicyVersion) -> dict[str, Any]:
    return {
        "profile": version.profile.value,
        "version": version.version,
        "hash": version.hash,
        "author": version.author,
        "reason": version.reason,
        "created_at": iso(version.created_at),
        "values": version.values.values(),
    }


def _text(value: object) -> str:
    """A value as ``policy set`` takes it: ``true``/``false``, numbers as Python writes
    them (the shortest text that reads back as the same number), an enum symbol
    (``supervisor_escalation_state``) as its text."""
    if isinstance(value, str):
        return value
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


_FIELD_TABLE = "\n".join(f"  {spec.name:28} {spec.allowed}" for spec in FIELDS)


@policy.command(
    name="set",
    epilog="\b\nFIELDS (each FIELD=VALUE; booleans as true/false):\n" + _FIELD_TABLE,
)
@click.argument("profile")  # refused by validate_changes with the allowed names
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@click.option(
    "--expect-version",
    type=VERSION,
    help="Refuse unless this is the current version (default: the version just read).",
)
@click.option("--by", required=True, type=BY, help="Who makes the change.")
@click.option("--reason", required=True, type=REASON, help="Why.")
@pass_context
def set_(
    ctx: Context,
    profile: str,
    assignments: tuple[str, ...],
    expect_version: int | None,
    by: str,
    reason: str,
) -> None:
    """Change FIELD=VALUE... of PROFILE (validated here, compare-and-set by the owner)."""
    from streams.policy import apply_change  # noqa: PLC0415 - start-up time

    # Types and ranges first, before any network: refuses with the field and its range.
    changes = validate_changes(profile, parse_assignments(profile, assignments))
    with _view(ctx) as view:
        current = view.state().versions.get(profile)
    actual = current.version if current else 0
    expected = expect_version if expect_version is not None else actual
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
    record = answer.record
    if answer.unchanged:
        _echo_unchanged(answer)
        return
    click.echo(f"{profile} is now v{record['version']} (hash {record['hash'][:16]}…)")


def _echo_unchanged(answer: Answer) -> None:
    record = answer.record
    click.echo(
        f"{record['profile']} unchanged at v{record['profile_version']} "
        f"(hash {record['hash'][:16]}…): {printable(record['detail'])}"
    )


@policy.command()
@click.argument("profile", type=PROFILES)
@click.option(
    "--expect-version",
    type=VERSION,
    help="Refuse unless this is the activation version (default: the one just read).",
)
@click.option("--by", required=True, type=BY, help="Who activates it.")
@click.option("--reason", required=True, type=REASON, help="Why.")
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
    if answer.unchanged:
        _echo_unchanged(answer)
        return
    record = answer.record
    click.echo(
        f"{profile} v{record['profile_version']} is active (activation v{record['version']})"
    )


@policy.command()
@click.argument("profile", type=PROFILES)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per version.")
@pass_context
def history(ctx: Context, profile: str, as_json: bool) -> None:
    """Versions of PROFILE still in policy.updated (compaction keeps every version for at
    least an hour, and always the latest)."""
    from schemas.catalogue import POLICY_UPDATED  # noqa: PLC0415 - start-up time
    from services.bus.inspect import TailOptions, tail  # noqa: PLC0415 - start-up time

    topic = ctx.names.name(POLICY_UPDATED)
    options = TailOptions(from_beginning=True)
    for line in tail(ctx.kafka, ctx.names, ctx.serde, topic, options):
        value = line.get("value") or {}
        if value.get("profile") != profile:
            continue
        if as_json:
            click.echo(json.dumps(value, ensure_ascii=True))
            continue
        click.echo(
            f"v{value['version']} {value['envelope']['event_time']} "
            f"by {printable(value['author'])}: {printable(value['reason'])} "
            f"hash {value['hash'][:16]}…"
        )


def _client(ctx: Context) -> PolicyClient:
    from services.policy.client import PolicyClient  # noqa: PLC0415 - start-up time

    return PolicyClient(ctx.kafka, ctx.names, ctx.serde, ctx.producer)
