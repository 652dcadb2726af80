"""Errors of model artifacts: each carries the ``ModelLoadError`` a consumer publishes.

A model consumer turns every failure into one of these and publishes it on
``model.load_failed`` (keeping the model it had); the CLI refuses a promotion with the same
error before anything is published. ``kind`` is the Avro enum symbol; the message says what
was wrong with which artifact and what to do.
"""

from __future__ import annotations

from schemas.enums import ModelLoadError
from schemas.errors import HfosError


class ModelError(HfosError):
    """Base of the model errors."""


class ArtifactError(ModelError):
    """An artifact that cannot serve; ``kind`` says why (the ``model.load_failed`` error)."""

    kind: ModelLoadError = ModelLoadError.INVALID_ARTIFACT

    def __init__(self, uri: str, detail: str) -> None:
        super().__init__(f"{self.kind.value}: {uri}: {detail}")
        self.uri = uri
        self.detail = detail


class FetchFailedError(ArtifactError):
    """The URI could not be read (missing file, HTTP error, timeout, too large, a scheme
    hfos does not fetch). Check the URI from the consumer's host."""

    kind = ModelLoadError.FETCH_FAILED


class DigestMismatchError(ArtifactError):
    """The bytes read are not the bytes promoted: the artifact changed after promotion, or
    the digest is wrong. Nothing of them is parsed."""

    kind = ModelLoadError.DIGEST_MISMATCH

    def __init__(self, uri: str, expected: str, actual: str) -> None:
        super().__init__(uri, f"sha256 is {actual}, the promotion says {expected}")
        self.expected = expected
        self.actual = actual


class UnsupportedFormatError(ArtifactError):
    """Not an ONNX model (a pickle, a zip, JSON, …) or a format other than ONNX declared.
    hfos loads ONNX only and never unpickles anything: export the model to ONNX."""

    kind = ModelLoadError.UNSUPPORTED_FORMAT


class InvalidArtifactError(ArtifactError):
    """ONNX that onnxruntime refuses, or a model whose inputs and outputs are not what
    the consumer feeds it."""

    kind = ModelLoadError.INVALID_ARTIFACT


class InvalidPromotionError(ModelError):
    """A promotion request that is wrong before any artifact is read (a bad name,
    version, digest or metric); ``field`` names the argument."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field} {value!r}: {problem}")
        self.field = field
        self.value = value
        self.problem = problem


class NothingToRollBackError(ModelError):
    """A rollback asked for a model with no previous version to return to."""

    def __init__(self, model: str, why: str) -> None:
        super().__init__(f"cannot roll back {model}: {why}")
        self.model = model
        self.why = why


class BuildUnavailableError(ModelError):
    """``hfos model build`` needs the training extra (scikit-learn, skl2onnx)."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"training needs {missing}: install hfos with its training extra "
            "(pip install 'hfos[train]'); serving models needs none of it"
        )
        self.missing = missing
