"""Timers that stop with the worker instead of crashing it.

Faust stops its producer while timers may still be due: a timer that sent in that moment
died with ``NotReady('Producer service not yet started')`` and turned a clean SIGTERM
into ``Crashed`` and exit 1 (seen with stale accounts, whose REDUCE the breaker's timer
sends every second). :func:`timer` registers a timer that does not run once the app is
stopping, and takes ``NotReady`` raised while it stops for what it is: the end.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.exceptions import NotReady

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[None]]


def stopping(app: faust.App) -> bool:
    """Whether ``app`` (or its producer) has begun to stop."""
    return bool(app.should_stop) or bool(app.producer.should_stop)


def timer(app: faust.App, interval: float, name: str) -> Callable[[Tick], Tick]:
    """``app.timer(interval, name=name)``, guarded as this module says."""

    def register(tick: Tick) -> Tick:
        @functools.wraps(tick)
        async def guarded() -> None:
            if stopping(app):
                return
            try:
                await tick()
            except NotReady:
                if not stopping(app):
                    raise
                log.info("timer %s: the worker is stopping; not sending", name)

        app.timer(interval, name=name)(guarded)
        return guarded

    return register


def register(app: faust.App, interval: float, name: str, tick: Tick) -> Any:
    """Register ``tick`` as a guarded timer (:func:`timer`); returns the wrapped function."""
    return timer(app, interval, name)(tick)
