"""``hfos model build``: a small real exit model, trained on the simulator's prices.

The data: the simulator's own random walk (``services.simulator.walk``, seeded), with
positions opened at random ticks, sides and leverages and followed for up to 50 ticks. Each
observation is labelled "close" when the move has taken the margin past the desk's
stop-loss (``stop_loss``, a fraction of margin) or its take-profit (``take_profit``) —
the exit rule the model learns from the features the position monitor computes
(``streams.monitor.features``). A logistic regression fits it; skl2onnx exports it with
plain probabilities (no ZipMap), so the artifact runs in onnxruntime with no
scikit-learn present. Accuracy and ROC AUC on a held-out fifth travel with the promotion.

The same arguments build the same bytes (the seed fixes the data, lbfgs is
deterministic and the export is too), so the digest printed names a model reproducibly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.models.artifact import sha256_hex
from services.models.exceptions import BuildUnavailableError
from services.simulator.walk import RandomWalk
from streams.monitor.features import FEATURE_COUNT, MOMENTUM_TICKS, row

OPSET = 17
"""ONNX opset of the export: onnxruntime 1.x runs it, and older runtimes too."""

FOLLOW_TICKS = 50
"""How long a sampled position is followed: 25 s at the simulator's 0.5 s tick."""


@dataclass(frozen=True)
class BuildConfig:
    name: str
    version: str
    seed: int = 7
    ticks: int = 4_000
    positions: int = 1_500
    symbols: int = 4
    volatility: float = 0.004
    """Per tick, as ``hfos simulate run`` defaults to."""
    stop_loss: float = 0.03
    take_profit: float = 0.06


@dataclass(frozen=True)
class Built:
    path: Path
    sha256: str
    size: int
    metrics: dict[str, float]


def training_data(config: BuildConfig) -> tuple[np.ndarray, np.ndarray]:
    """Rows of features and their labels (1: the position should be closed)."""
    names = [f"SIM{i}" for i in range(config.symbols)]
    walk = RandomWalk(dict.fromkeys(names, 100.0), config.volatility, config.seed)
    paths = {name: [100.0] for name in names}
    for _ in range(config.ticks):
        for name, price in walk.step().items():
            paths[name].append(price)
    rng = random.Random(f"positions-{config.seed}")  # noqa: S311 - reproducible data
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    for _ in range(config.positions):
        path = paths[rng.choice(names)]
        opened = rng.randrange(MOMENTUM_TICKS, len(path) - FOLLOW_TICKS - 1)
        direction = rng.choice((1.0, -1.0))
        leverage = rng.uniform(1.0, 10.0)
        for now in range(opened + 1, opened + FOLLOW_TICKS):
            recent = path[now - MOMENTUM_TICKS + 1 : now + 1]
            features = row(direction, path[opened], path[now], leverage, recent)
            rows.append(features)
            levered = features[2]
            labels.append(int(levered <= -config.stop_loss or levered >= config.take_profit))
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=np.int64)


def build(config: BuildConfig, out: Path) -> Built:
    """Train, export to ``out`` and return its digest and held-out metrics."""
    try:
        from skl2onnx import to_onnx  # noqa: PLC0415 - the training extra
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
        from sklearn.metrics import accuracy_score, roc_auc_score  # noqa: PLC0415
    except ImportError as missing:
        raise BuildUnavailableError(str(missing.name)) from missing
    features, labels = training_data(config)
    order = np.random.default_rng(config.seed).permutation(len(labels))
    cut = len(order) * 4 // 5
    train, test = order[:cut], order[cut:]
    model = LogisticRegression(max_iter=1_000, C=10.0)
    model.fit(features[train], labels[train])
    scores = model.predict_proba(features[test])[:, 1]
    metrics = {
        "accuracy": float(accuracy_score(labels[test], scores >= 0.5)),  # noqa: PLR2004
        "roc_auc": float(roc_auc_score(labels[test], scores)),
        "close_rate": float(labels.mean()),
        "rows": float(len(labels)),
    }
    proto: Any = to_onnx(
        model,
        features[:1],
        options={id(model): {"zipmap": False}},
        target_opset=OPSET,
    )
    _stamp(proto, config, metrics)
    data = proto.SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return Built(out, sha256_hex(data), len(data), metrics)


def _stamp(proto: Any, config: BuildConfig, metrics: dict[str, float]) -> None:
    """Name and version inside the artifact, so that two versions never share a digest
    and a file found on a disk says what it is."""
    proto.doc_string = f"hfos exit model {config.name} {config.version}"
    stamps = {
        "hfos.model": config.name,
        "hfos.version": config.version,
        "hfos.features": ",".join(f"{i}" for i in range(FEATURE_COUNT)),
        "hfos.seed": str(config.seed),
        **{f"hfos.metric.{k}": f"{v:.6g}" for k, v in metrics.items() if math.isfinite(v)},
    }
    for key, value in stamps.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
