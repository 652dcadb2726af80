"""``hfos schemas``: the Avro contracts."""

from __future__ import annotations

import click

from schemas.compat import check_against_ref
from schemas.errors import HfosError


@click.group()
def schemas() -> None:
    """Check the Avro contracts."""


@schemas.command()
@click.option(
    "--against",
    "ref",
    default="HEAD",
    show_default=True,
    help="The git revision holding the previous version of the schemas.",
)
def check(ref: str) -> None:
    """Fail when a schema breaks BACKWARD compatibility with its version at REF."""
    report = check_against_ref(ref)
    click.echo(
        f"checked {len(report.checked)} schemas against {ref}; "
        f"new: {', '.join(report.added) or 'none'}; "
        f"removed: {', '.join(report.removed) or 'none'}"
    )
    for issue in report.incompatibilities:
        click.echo(f"INCOMPATIBLE {issue}", err=True)
    if not report.ok:
        raise HfosError(f"schemas are not BACKWARD compatible with {ref}")
