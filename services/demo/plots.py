"""Drawing a scenario's :class:`~services.demo.model.PlotData` to a PNG with matplotlib,
headless (the Agg backend: no display, no GUI toolkit). Time is in seconds from the
scenario's start, as in its timeline.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # before pyplot: no display on a server, in CI or over ssh

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from services.demo.model import PlotData, Series

_STEP_PANELS = ("ess state",)
_SCATTER_PANELS = ("recovery", "policy reads", "model version", "decision")
_STEP_SHIFT = 0.08
_PANEL_HEIGHT = 2.4
_WIDTH = 11.0


def draw(data: PlotData, zero: int, path: Path) -> Path:
    """Render ``data`` to ``path`` (PNG); returns ``path``."""
    panels = [name for name, lines in data.series.items() if lines]
    figure, axes = plt.subplots(
        len(panels),
        1,
        figsize=(_WIDTH, _PANEL_HEIGHT * len(panels) + 0.8),
        sharex=True,
        squeeze=False,
    )
    for index, name in enumerate(panels):
        ax = axes[index][0]
        _panel(ax, data, name, zero)
        for marker in data.markers:
            ax.axvline((marker.at - zero) / 1000, color="grey", linestyle=":", linewidth=1)
            if index == 0:
                ax.annotate(
                    marker.label,
                    ((marker.at - zero) / 1000, 1.0),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    fontsize=7,
                    va="top",
                    ha="right",
                    color="dimgrey",
                )
    axes[-1][0].set_xlabel("seconds from the scenario's start")
    figure.suptitle(data.title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _panel(ax: Axes, data: PlotData, name: str, zero: int) -> None:
    levels = data.levels.get(name)
    for index, series in enumerate(data.series[name]):
        xs, ys = _xy(series, zero)
        # Lines on the same level (two scopes ARMED, two accounts under v2) would hide each
        # other: each drawn a little apart.
        shifted = [y + _STEP_SHIFT * index for y in ys]
        if name in _STEP_PANELS:
            ax.step(xs, shifted, where="post", label=series.label, linewidth=2)
        elif name in _SCATTER_PANELS:
            ax.plot(xs, shifted, marker="o", linestyle="none", markersize=4, label=series.label)
        else:  # a value read from an event holds until the next one: steps, not slopes
            ax.step(xs, ys, where="post", label=series.label, linewidth=1.4)
    for label, value in data.limits.get(name, ()):
        ax.axhline(value, color="red" if "max" in label else "orange", linestyle="--", linewidth=1)
        ax.annotate(
            label,
            (0.0, value),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            color="red",
            va="bottom",
        )
    if levels:
        ax.set_yticks(range(len(levels)), levels, fontsize=7)
        ax.set_ylim(-0.5, len(levels) - 0.5)
    if name == "drawdown":
        ax.yaxis.set_major_formatter(lambda value, _pos: f"{value:.1%}")
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _xy(series: Series, zero: int) -> tuple[list[float], list[float]]:
    return [(at - zero) / 1000 for at, _ in series.points], [value for _, value in series.points]
