"""``hfos schemas``: the Avro contracts."""

from __future__ import annotations

from pathlib import Path

import click

from schemas.catalogue import TOPICS
from schemas.compat import check_against_ref
from schemas.contracts import contract
from schemas.errors import HfosError
from schemas.loader import AVRO_DIR
from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
def schemas() -> None:
    """Check and register the Avro contracts."""


@schemas.command()
@click.option(
    "--against",
    "ref",
    default="HEAD",
    show_default=True,
    help="The git revision holding the previous version of the schemas.",
)
@click.option(
    "--avro-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=AVRO_DIR,
    help="The schemas to check (default: the installed package's).",
)
def check(ref: str, avro_dir: Path) -> None:
    """Fail when a schema breaks BACKWARD compatibility with its version at REF."""
    report = check_against_ref(ref, avro_dir)
    click.echo(
        f"checked {len(report.checked)} schemas against {ref}; "
        f"new: {', '.join(report.added) or 'none'}; "
        f"removed: {', '.join(report.removed) or 'none'}"
    )
    for issue in report.incompatibilities:
        click.echo(f"INCOMPATIBLE {issue}", err=True)
    if not report.ok:
        raise HfosError(f"schemas are not BACKWARD compatible with {ref}")


@schemas.command()
@pass_context
def register(ctx: Context) -> None:
    """Register every catalogue topic's value schema under <topic>-value (idempotent).

    Run before a new version's services start (the Helm chart's pre-upgrade Job): a schema
    the registry refuses as incompatible fails here, before any pod is replaced."""
    for spec in TOPICS:
        if spec.value_schema is None:
            continue
        target = contract(spec, ctx.names)
        schema_id = ctx.serde.schema_id(target)
        click.echo(f"registered {target.subject} (id {schema_id})")
