"""``hfos model``: build, promote, status and rollback of models (SPEC §6).

Heavy imports (onnxruntime, scikit-learn, fsspec) happen inside the commands: ``hfos
--help`` and every other command start without them.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from services.cli.context import Context

pass_context = click.make_pass_decorator(Context, ensure=True)
PRODUCER = "hfos-cli"


@click.group()
def model() -> None:
    """Models: build an ONNX exit model, promote it safely, watch and roll back."""


@model.command()
@click.argument("name")
@click.option("--version", "version", required=True, help="Version to stamp in the model.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the .onnx file.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated training data.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def build(name: str, version: str, out: Path, seed: int, as_json: bool) -> None:
    """Train a logistic-regression exit model on simulator data, export it to ONNX at OUT
    and print its sha256 (what `hfos model promote --sha256` takes)."""
    from schemas.names import check_name  # noqa: PLC0415
    from services.models.build import BuildConfig  # noqa: PLC0415
    from services.models.build import build as train  # noqa: PLC0415

    check_name("model name", name)
    built = train(BuildConfig(name, version, seed=seed), out)
    uri = built.path.resolve().as_uri()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "path": str(built.path),
                    "uri": uri,
                    "sha256": built.sha256,
                    "bytes": built.size,
                    "metrics": built.metrics,
                }
            )
        )
        return
    shown = ", ".join(f"{k} {v:.4g}" for k, v in built.metrics.items())
    click.echo(f"built {name} {version}: {built.path} ({built.size} bytes; {shown})")
    click.echo(f"uri {uri}")
    click.echo(f"sha256 {built.sha256}")


@model.command()
@click.argument("name")
@click.option("--version", "version", required=True)
@click.option("--uri", required=True, help="Artifact URI: file://, http(s)://, s3://, gs://, az://")
@click.option("--sha256", "sha256", required=True, help="sha256 of the artifact (hex).")
@click.option("--metric", "metrics", multiple=True, help="Validation metric NAME=NUMBER.")
@click.option("--by", required=True, help="Who promotes it.")
@click.option("--reason", required=True, help="Why.")
@pass_context
def promote(  # noqa: PLR0913 - one parameter per option
    ctx: Context,
    name: str,
    version: str,
    uri: str,
    sha256: str,
    metrics: tuple[str, ...],
    by: str,
    reason: str,
) -> None:
    """Verify the artifact (reachable, digest, loadable ONNX), then publish the promotion.
    The worker rolls it back unless every registered consumer loads it in time."""
    from schemas.catalogue import MODEL_PROMOTED  # noqa: PLC0415
    from schemas.contracts import contract  # noqa: PLC0415
    from services.models import promote as promoting  # noqa: PLC0415
    from services.models.view import read_view  # noqa: PLC0415

    request = promoting.PromotionRequest(
        name,
        version,
        uri,
        sha256.strip().lower(),
        by,
        reason,
        dict(promoting.parse_metric(text) for text in metrics),
    )
    promoting.check_request(request)
    promoting.verify_artifact(request.uri, request.sha256)
    timeout_ms = int(ctx.settings.hfos_model_ack_timeout_seconds * 1000)
    view = read_view(ctx.kafka, ctx.serde, ctx.names)
    stable = view.stable(name, timeout_ms)
    record = promoting.promotion_record(request, stable, int(time.time() * 1000), PRODUCER)
    _publish(ctx, contract(MODEL_PROMOTED, ctx.names), name, record)
    before = f", rollback target {stable.version}" if stable and stable.version != version else ""
    click.echo(
        f"promoted {name} {version} (promotion {record['envelope']['event_id']}{before}); "
        f"verified {uri}. Watch it: hfos model status {name}"
    )


@model.command()
@click.argument("name")
@click.option("--by", required=True)
@click.option("--reason", required=True)
@pass_context
def rollback(ctx: Context, name: str, by: str, reason: str) -> None:
    """Promote NAME's previous version again (verified first), with rollback_of set."""
    from schemas.catalogue import MODEL_PROMOTED  # noqa: PLC0415
    from schemas.contracts import contract  # noqa: PLC0415
    from schemas.names import check_name  # noqa: PLC0415
    from services.models import promote as promoting  # noqa: PLC0415
    from services.models.exceptions import InvalidPromotionError  # noqa: PLC0415
    from services.models.view import read_view  # noqa: PLC0415

    check_name("model name", name)
    for what, text in (("--by", by), ("--reason", reason)):
        if not text.strip():
            raise InvalidPromotionError(what, text, "must say who and why")
    view = read_view(ctx.kafka, ctx.serde, ctx.names)
    latest, target = promoting.rollback_target(view.latest.get(name), name)
    promoting.verify_artifact(target.artifact_uri, target.sha256)
    record = promoting.rollback_record(
        latest, target, by, reason, int(time.time() * 1000), PRODUCER
    )
    _publish(ctx, contract(MODEL_PROMOTED, ctx.names), name, record)
    click.echo(f"rolled {name} back from {latest.version} to {target.version}")


@model.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
@pass_context
def status(ctx: Context, name: str | None, as_json: bool) -> None:
    """Live and previous version, the pending promotion and its deadline, and each
    registered consumer's answer (loaded / failed with reason / missing)."""
    from services.models.view import read_view  # noqa: PLC0415

    timeout_ms = int(ctx.settings.hfos_model_ack_timeout_seconds * 1000)
    view = read_view(ctx.kafka, ctx.serde, ctx.names)
    models = [name] if name else sorted(view.latest)
    if name and name not in view.latest:
        raise click.ClickException(f"{name} was never promoted")
    for model_name in models:
        report = _report(view, model_name, timeout_ms)
        click.echo(json.dumps(report) if as_json else _text(report))


def _report(view: Any, name: str, timeout_ms: int) -> dict[str, Any]:
    promotion = view.latest[name]
    judgement = view.judgement(name, timeout_ms)
    responses = view.responses_of(promotion)
    consumers = sorted(judgement.required | set(responses.acks) | set(responses.refusals))
    answers = []
    for consumer in consumers:
        ack, refusal = responses.acks.get(consumer), responses.refusals.get(consumer)
        if refusal is not None:
            answer = {
                "state": "failed",
                "error": refusal.error,
                "detail": refusal.detail,
                "at": _iso(refusal.at),
            }
        elif ack is not None:
            answer = {"state": "loaded", "load_ms": ack.load_ms, "at": _iso(ack.at)}
        else:
            answer = {"state": "missing"}
        answers.append(
            {"consumer": consumer, "registered": consumer in judgement.required, **answer}
        )
    deadline = promotion.deadline(timeout_ms)
    return {
        "model": name,
        "live": promotion.version,
        "previous": promotion.previous_version,
        "rollback_of": promotion.rollback_of,
        "artifact_uri": promotion.artifact_uri,
        "sha256": promotion.sha256,
        "promoted_by": promotion.by,
        "promoted_at": _iso(promotion.at),
        "promotion_id": promotion.promotion_id,
        "verdict": judgement.verdict.value,
        "reason": judgement.reason,
        "deadline": _iso(deadline),
        "pending": judgement.verdict.value == "PENDING",
        "consumers": answers,
    }


def _text(report: dict[str, Any]) -> str:
    lines = [
        f"{report['model']}: live {report['live']}"
        + (f" (rollback of {report['rollback_of']})" if report["rollback_of"] else "")
        + f", previous {report['previous'] or '-'}",
        f"  artifact {report['artifact_uri']} sha256 {report['sha256']}",
        f"  promoted by {report['promoted_by']} at {report['promoted_at']}",
        f"  {report['verdict']}: {report['reason']}"
        + (f"; deadline {report['deadline']}" if report["pending"] else ""),
    ]
    for answer in report["consumers"]:
        state = answer["state"]
        if state == "loaded":
            detail = f"loaded in {answer['load_ms']} ms at {answer['at']}"
        elif state == "failed":
            detail = f"FAILED {answer['error']}: {answer['detail']}"
        else:
            detail = "MISSING (no acknowledgement)"
        extra = "" if answer["registered"] else " (not registered at promotion)"
        lines.append(f"  {answer['consumer']}: {detail}{extra}")
    if not report["consumers"]:
        lines.append("  no registered consumer")
    return "\n".join(lines)


def _publish(ctx: Context, target: Any, key: str, record: dict[str, Any]) -> None:
    ctx.service = PRODUCER
    ctx.producer.send(target, key, record)
    if ctx.producer.flush(30):
        raise click.ClickException("the broker did not acknowledge the record within 30 s")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
