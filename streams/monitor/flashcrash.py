"""The flash-crash detector (SPEC §6): a drop of at least ``drop`` (a fraction) within
``window_ms`` of a symbol's price or of an account's equity, once per episode.

Each source (``symbol:<sym>``, ``account:<id>``) keeps its observations of the last window,
by the observations' own event times — a replay judges the same window. The drop is
measured from the highest value in the window to the newest one. Crossing ``drop`` opens
an *episode* and yields it once; the episode is over when the drop in the window falls
below half of ``drop`` (hysteresis: a price wobbling around the threshold is one episode,
not one per wobble). The episode's id is derived from the source and the event that
crossed, so a replayed or redelivered tick yields the same id, and the ESS, which
remembers causes, applies it once. An observation older than the newest one seen (a stale
resend) or the same event again is ignored.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from schemas.ids import derived_id

DEFAULT_DROP = 0.03
DEFAULT_WINDOW_MS = 10_000
RECOVERY_FRACTION = 0.5
"""An episode ends when the drop in the window is below this fraction of the threshold."""


@dataclass(frozen=True)
class Thresholds:
    drop: float = DEFAULT_DROP
    window_ms: int = DEFAULT_WINDOW_MS


@dataclass(frozen=True)
class Observation:
    source: str
    """The scope the value belongs to: ``symbol:<sym>`` or ``account:<id>``."""
    value: float
    at: int
    event_id: str


@dataclass(frozen=True)
class Episode:
    """A flash crash: ``value`` fell ``drop`` below ``peak`` within the window."""

    episode_id: str
    source: str
    peak: float
    value: float
    drop: float
    at: int
    cause_event_id: str


@dataclass
class _Source:
    seen: deque[tuple[int, float]] = field(default_factory=deque)
    last_at: int | None = None
    last_event: str | None = None
    open_episode: str | None = None


class FlashCrashDetector:
    """Observations in (per source, in event-time order), episodes out. No I/O."""

    def __init__(self) -> None:
        self._sources: dict[str, _Source] = {}

    def observe(self, observation: Observation, thresholds: Thresholds) -> Episode | None:
        state = self._sources.setdefault(observation.source, _Source())
        if observation.value <= 0 or self._stale(state, observation):
            return None
        state.last_at, state.last_event = observation.at, observation.event_id
        state.seen.append((observation.at, observation.value))
        while state.seen and state.seen[0][0] < observation.at - thresholds.window_ms:
            state.seen.popleft()
        peak = max(value for _, value in state.seen)
        drop = (peak - observation.value) / peak
        if state.open_episode is not None:
            if drop < thresholds.drop * RECOVERY_FRACTION:
                state.open_episode = None
            return None
        if drop < thresholds.drop:
            return None
        episode_id = derived_id("flash-crash", observation.source, observation.event_id)
        state.open_episode = episode_id
        return Episode(
            episode_id,
            observation.source,
            peak,
            observation.value,
            drop,
            observation.at,
            observation.event_id,
        )

    def in_episode(self, source: str) -> bool:
        state = self._sources.get(source)
        return state is not None and state.open_episode is not None

    @staticmethod
    def _stale(state: _Source, observation: Observation) -> bool:
        if state.last_at is None:
            return False
        if observation.event_id == state.last_event:
            return True
        return observation.at < state.last_at
