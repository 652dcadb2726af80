"""ONNX models in onnxruntime: an artifact's bytes become a session, checked and warmed.

A session is built from bytes in memory (never from a path another process could swap) on
one thread: scoring one position takes microseconds, and a consumer must not spread its
model over cores its loop needs. Building the session parses a protobuf; it runs no code
of the artifact's (ONNX has no such thing), and custom-op libraries are never registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.models.artifact import Artifact
from services.models.exceptions import InvalidArtifactError

PROBABILITIES = "probabilities"
"""The output a classifier exported by skl2onnx (``zipmap`` off) names its class
probabilities; column 1 is the positive class ("close this position")."""

Matrix = npt.NDArray[np.float32]


def preload() -> None:
    """Import onnxruntime now. Its first import takes about a second of interpreter time;
    done by the loader thread on the first promotion, it held the lock the service's loop
    needs and stalled its first decisions (the executor's barrier timed out). A model
    consumer calls this while it starts, before it decides anything."""
    import onnxruntime  # noqa: F401, PLC0415 - imported for its side effect, once


def session_of(artifact: Artifact) -> Any:
    """An onnxruntime session of ``artifact``, or :class:`InvalidArtifactError`."""
    import onnxruntime as ort  # noqa: PLC0415 - heavy; loaded by model consumers only

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: a refusal is reported by us, typed
    try:
        return ort.InferenceSession(
            artifact.data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime raises its own for any bad graph
        raise InvalidArtifactError(artifact.uri, f"onnxruntime refused it: {error}") from error


@dataclass(frozen=True)
class ExitModel:
    """A loaded exit model: rows of features in, P(close) per row out."""

    name: str
    version: str
    sha256: str
    session: Any
    input_name: str
    features: int

    def predict(self, rows: Matrix) -> npt.NDArray[np.float64]:
        """P(close) of each row (``rows``: shape [n, features], float32)."""
        probabilities = self.session.run([PROBABILITIES], {self.input_name: rows})[0]
        return np.asarray(probabilities[:, 1], dtype=np.float64)


def exit_model(name: str, version: str, artifact: Artifact, features: int) -> ExitModel:
    """``artifact`` as an exit model taking ``features`` columns, warmed with one run
    (onnxruntime allocates on the first run: a swapped-in model must not pay it on the
    hot path); :class:`InvalidArtifactError` when its inputs or outputs do not fit."""
    session = session_of(artifact)
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(float)":
        found = ", ".join(f"{i.name} {i.type}" for i in inputs)
        raise InvalidArtifactError(artifact.uri, f"needs one float tensor input, has {found}")
    width = inputs[0].shape[-1] if inputs[0].shape else None
    if width != features:
        raise InvalidArtifactError(
            artifact.uri, f"takes {width} features per row; the exit model has {features}"
        )
    if PROBABILITIES not in {output.name for output in session.get_outputs()}:
        raise InvalidArtifactError(artifact.uri, f"has no {PROBABILITIES!r} output")
    model = ExitModel(name, version, artifact.sha256, session, inputs[0].name, features)
    try:
        scores = model.predict(np.zeros((1, features), dtype=np.float32))
    except Exception as error:  # a graph that loads but cannot run
        raise InvalidArtifactError(artifact.uri, f"does not run: {error}") from error
    if scores.shape != (1,) or not np.isfinite(scores).all():
        raise InvalidArtifactError(artifact.uri, f"scores {scores!r} are not one probability")
    return model
