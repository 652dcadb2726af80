"""``hfos worker``: run the stream worker (Faust) in the foreground."""

from __future__ import annotations

import sys

import click
import faust

from services.health.endpoint import open_probe
from services.settings import load_settings
from services.worker import build_app, provision_changelogs
from streams.crash import CrashRecorder, last_words
from streams.heartbeat import SERVICE


@click.command()
@click.option("--app-id", help="Faust app id (consumer group); default: <prefix>hfos-streams.")
@click.option(
    "--store",
    default="memory://",
    show_default=True,
    help="Table store: memory:// (tables rebuilt from changelogs on start) or "
    "rocksdb:// (needs the rocksdb extra).",
)
@click.option(
    "--loglevel",
    default="warn",
    show_default=True,
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
)
def worker(app_id: str | None, store: str, loglevel: str) -> None:
    """Run the stream worker until SIGTERM/SIGINT."""
    settings = load_settings()
    probe = open_probe(settings, SERVICE)
    recorder = CrashRecorder()
    # Through the app's loghandlers: mode clears the root logger's handlers when it sets
    # logging up, and adds these back.
    app = build_app(settings, app_id, store, probe, loghandlers=(recorder,))
    provision_changelogs(settings, app)
    runner = faust.Worker(app, loglevel=loglevel)
    # Faust keeps a terminal spinner at WARN and above, and for it sets the root logger to
    # DEBUG with a handler that spins on every record: every debug line of aiokafka and
    # Faust (three per event) was formatted and dropped — about 0.5 ms an event. A worker
    # logs to a file or a pod's stdout; it has no terminal to spin in.
    runner.spinner = None
    try:
        runner.execute_from_commandline()
    finally:
        if recorder.first is not None:
            print(last_words(recorder.first), file=sys.stderr, flush=True)
